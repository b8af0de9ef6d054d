import { DEFAULT_STRINGS, formatEta, mergeStrings, progressPercent, type WaitingRoomStrings, type WaitingRoomStringsInput } from './format.js';
import { redirectToOrigin } from './handoff.js';
import type { Admission, TokenHandoff, WaitingRoom, WaitingRoomEvents, WaitingRoomOptions, WaitingRoomState } from './types.js';
import { createWaitingRoom } from './room.js';

/**
 * `<waiting-room-position queue="concert-tickets">`: a live position counter without a
 * framework. It renders into its light DOM (no shadow root), so the page's CSS styles it
 * through the documented `wr-*` classes; markup an operator puts inside it with `data-wr`
 * attributes is filled in instead of the default markup. See client-sdk/README.md.
 */

export const DEFAULT_TAG_NAME = 'waiting-room-position';

/** DOM events the element dispatches (bubbling, composed); `detail` is the SDK event's payload. */
export type WaitingRoomElementEventMap = {
  [K in keyof WaitingRoomEvents as `wr-${K}`]: CustomEvent<WaitingRoomEvents[K]>;
};

const ATTRIBUTES = ['queue', 'server', 'transport', 'token-handoff', 'cookie-domain', 'query-param'] as const;

/** Extends HTMLElement where there is one; importing this module on a server does not throw. */
const Base = (typeof HTMLElement === 'undefined' ? class {} : HTMLElement) as typeof HTMLElement;

export class WaitingRoomPositionElement extends Base {
  static get observedAttributes(): readonly string[] {
    return ATTRIBUTES;
  }

  /** Extra options for the SDK (storage, backoff, …); set before the element is connected. */
  options: Partial<WaitingRoomOptions> = {};

  private _room: WaitingRoom | undefined;
  private _unsubscribe: (() => void)[] = [];
  private _strings: WaitingRoomStrings = DEFAULT_STRINGS;
  private _rendered = false;
  /** Between connectedCallback and disconnectedCallback (an upgrade reports attributes before). */
  private _connected = false;

  /** The SDK handle of the current queue (undefined while disconnected or without `queue`). */
  get room(): WaitingRoom | undefined {
    return this._room;
  }

  get strings(): WaitingRoomStrings {
    return this._strings;
  }

  /** Replaces any of the texts (translations): `el.strings = { positionLabel: 'Ihr Platz' }`. */
  set strings(input: WaitingRoomStringsInput) {
    this._strings = mergeStrings(DEFAULT_STRINGS, input);
    this.renderAll();
  }

  connectedCallback(): void {
    this._connected = true;
    this.connectRoom();
    // Defined before the page is parsed (script in <head>), the element is connected before
    // its children exist: decide between the operator's markup and the default one after parsing.
    if (document.readyState === 'loading') {
      document.addEventListener(
        'DOMContentLoaded',
        () => {
          if (this._connected) this.ensureMarkup();
        },
        { once: true },
      );
    } else this.ensureMarkup();
  }

  disconnectedCallback(): void {
    this._connected = false;
    this.disconnectRoom();
  }

  attributeChangedCallback(_name: string, oldValue: string | null, newValue: string | null): void {
    if (oldValue === newValue || !this._connected) return;
    this.disconnectRoom();
    this.connectRoom();
  }

  /** Gives the place up (e.g. from a "Leave the line" button). */
  leave(): Promise<void> {
    return this._room?.leave() ?? Promise.resolve();
  }

  private connectRoom() {
    this.disconnectRoom();
    const queueId = this.getAttribute('queue');
    if (!queueId) return;
    const attr = (name: (typeof ATTRIBUTES)[number]) => this.getAttribute(name) ?? undefined;
    const handoff = {
      tokenHandoff: (attr('token-handoff') ?? this.options.tokenHandoff ?? 'auto') as TokenHandoff,
      ...(attr('query-param') ?? this.options.queryParam ? { queryParam: attr('query-param') ?? this.options.queryParam } : {}),
      ...(attr('cookie-domain') ?? this.options.cookieDomain ? { cookieDomain: attr('cookie-domain') ?? this.options.cookieDomain } : {}),
      ...(this.options.cookieName ? { cookieName: this.options.cookieName } : {}),
    };
    const room = createWaitingRoom({
      ...this.options,
      queueId,
      ...(attr('server') ? { url: attr('server') } : {}),
      ...(attr('transport') ? { transport: attr('transport') as WaitingRoomOptions['transport'] } : {}),
      onAdmitted: (admission: Admission) => {
        // Cancelable: `event.preventDefault()` keeps the visitor here (a custom handoff).
        const proceed = this.dispatch('admitted', admission, true);
        const custom = this.options.onAdmitted;
        if (typeof custom === 'function') custom(admission);
        else if (proceed && custom !== 'none') redirectToOrigin(admission, handoff);
      },
    });
    this._room = room;
    const forward = <K extends keyof WaitingRoomEvents>(event: K, render: () => void) => {
      this._unsubscribe.push(
        room.on(event, (payload) => {
          render();
          if (event !== 'admitted') this.dispatch(event, payload, false);
        }),
      );
    };
    forward('state', () => this.renderState());
    forward('joined', () => this.renderPosition());
    forward('position', () => this.renderPosition());
    forward('admitted', () => undefined);
    forward('expired', () => undefined);
    forward('error', () => this.renderState()); // the state text may depend on the error (QUEUE_CLOSED)
    this.renderAll();
    room.start();
  }

  private disconnectRoom() {
    for (const off of this._unsubscribe.splice(0)) off();
    this._room?.stop();
    this._room = undefined;
  }

  private dispatch<K extends keyof WaitingRoomEvents>(event: K, detail: WaitingRoomEvents[K], cancelable: boolean): boolean {
    return this.dispatchEvent(new CustomEvent(`wr-${event}`, { detail, bubbles: true, composed: true, cancelable }));
  }

  /** The default markup, unless the operator wrote their own with `data-wr` slots. */
  private ensureMarkup() {
    if (this._rendered) return;
    this._rendered = true;
    if (this.querySelector('[data-wr]')) return this.renderAll();
    const el = (tag: string, className: string, attrs: Record<string, string> = {}, children: Node[] = []) => {
      const node = document.createElement(tag);
      node.className = className;
      for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
      node.append(...children);
      return node;
    };
    this.replaceChildren(
      el('p', 'wr-state', { 'data-wr': 'state', role: 'status' }),
      el('p', 'wr-counter', { 'aria-live': 'polite', 'aria-atomic': 'true' }, [
        el('span', 'wr-label', { 'data-wr-text': 'positionLabel' }),
        document.createTextNode(' '),
        el('strong', 'wr-position', { 'data-wr': 'position' }),
        document.createTextNode(' '),
        el('span', 'wr-of', { 'data-wr-text': 'of' }),
        document.createTextNode(' '),
        el('span', 'wr-queue-length', { 'data-wr': 'queue-length' }),
      ]),
      el('p', 'wr-eta-row', {}, [
        el('span', 'wr-label', { 'data-wr-text': 'etaLabel' }),
        document.createTextNode(' '),
        el('span', 'wr-eta', { 'data-wr': 'eta' }),
      ]),
      el('progress', 'wr-progress', { 'data-wr': 'progress', max: '100', value: '0' }),
    );
    this.renderAll();
  }

  /** Every element of one `data-wr` slot (there may be several, e.g. a position in a title). */
  private slots(name: string): HTMLElement[] {
    return Array.from(this.querySelectorAll<HTMLElement>(`[data-wr="${name}"]`));
  }

  private renderAll() {
    for (const node of Array.from(this.querySelectorAll<HTMLElement>('[data-wr-text]'))) {
      const key = node.dataset.wrText as keyof WaitingRoomStrings;
      const text = this._strings[key];
      if (typeof text === 'string') node.textContent = text;
    }
    this.renderState();
    this.renderPosition();
  }

  private renderState() {
    const state: WaitingRoomState = this._room?.state ?? 'idle';
    this.setAttribute('data-state', state);
    const closed = state === 'error' && this._room?.lastError?.code === 'QUEUE_CLOSED';
    const text = closed ? this._strings.queueClosed : this._strings.states[state];
    for (const node of this.slots('state')) node.textContent = text;
  }

  private renderPosition() {
    const snapshot = this._room?.position;
    const number = new Intl.NumberFormat(this.closest('[lang]')?.getAttribute('lang') || undefined);
    const text = (value: number | undefined) => (value === undefined ? '–' : number.format(value));
    for (const node of this.slots('position')) node.textContent = text(snapshot?.position);
    for (const node of this.slots('queue-length')) node.textContent = text(snapshot?.queueLength);
    for (const node of this.slots('eta')) node.textContent = snapshot ? formatEta(snapshot.etaSeconds, this._strings) : '–';
    const percent = snapshot ? progressPercent(this._room?.startPosition ?? 0, snapshot.position) : 0;
    for (const node of this.slots('progress')) {
      if (node instanceof HTMLProgressElement) node.value = percent;
      else node.style.setProperty('--wr-progress', `${percent}%`);
      node.setAttribute('aria-valuenow', String(percent));
    }
  }
}

/** Registers the element (once; a no-op without `customElements`, e.g. on a server). */
export function defineWaitingRoomElement(tagName: string = DEFAULT_TAG_NAME): void {
  if (typeof customElements === 'undefined' || customElements.get(tagName)) return;
  // A fresh subclass per tag name: one constructor cannot be defined under two names.
  customElements.define(tagName, class extends WaitingRoomPositionElement {});
}

declare global {
  interface HTMLElementTagNameMap {
    'waiting-room-position': WaitingRoomPositionElement;
  }
}
