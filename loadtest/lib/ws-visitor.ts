/**
 * One simulated visitor speaking the socket protocol (DESIGN §4, server/src/realtime/protocol.ts):
 * connect to `ws://host:port/ws/queues/<q>` (optionally from a chosen loopback source address),
 * send `join` (with a ticket to resume), then follow `joined`, `position_update`,
 * `token_refresh`, `admitted`, `expired` and `error` until the socket closes.
 *
 * Built to be held by the thousand in one process: no timer per visitor, one shared observer
 * instead of per-visitor event emitters, and position updates read from the frame bytes into
 * the visitor's own fields (frames.ts) without a string or a JSON tree per message.
 */
import { performance } from 'node:perf_hooks';
import { LeanWebSocket } from './lean-socket.js';
import { isTransientClose, type AdmittedData, type ServerMessage } from '../../server/src/realtime/protocol.js';
import { joinFrame, parseServerFrame, readPositionUpdate, type PositionReading } from './frames.js';

/** Wall-clock ms with sub-ms resolution, comparable across the processes of one machine. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export type VisitorPhase =
  /** not connected yet */
  | 'idle'
  | 'connecting'
  /** open, `join` sent, no answer yet */
  | 'joining'
  /** joined (or, for a listener, open) and in the queue */
  | 'waiting'
  | 'admitted'
  | 'expired'
  /** the socket closed while waiting (the place keeps its grace period: resume with the ticket) */
  | 'closed'
  /** never got in: connect, upgrade or join failed */
  | 'failed';

/** One object shared by every visitor of a swarm; each hook is optional. */
export interface VisitorObserver {
  /** The socket is open (the upgrade succeeded); a joining visitor sends `join` next. */
  opened?(v: Visitor): void;
  joined?(v: Visitor): void;
  positionUpdate?(v: Visitor): void;
  admitted?(v: Visitor): void;
  /** The visitor stopped waiting (admitted, expired or its socket closed), once per wait. */
  left?(v: Visitor): void;
  /** The socket closed (after `error`, if there was one). */
  closed?(v: Visitor): void;
  /** A frame that is no server message (counted; the socket stays open). */
  badFrame?(v: Visitor, reason: string): void;
}

export interface VisitorOptions {
  url: string;
  /** The visitor's number in its swarm (for the caller's bookkeeping); default -1. */
  index?: number;
  localAddress?: string | undefined;
  /** false: a listener that never sends `join` and counts what it receives (the bare baseline). */
  join?: boolean;
  /** A ticket to resume with on the first connect. */
  ticket?: string | undefined;
  handshakeTimeoutMs?: number;
  observer?: VisitorObserver;
}

export type JoinOutcome =
  | { kind: 'joined'; visitor: Visitor }
  | { kind: 'admitted'; visitor: Visitor }
  | { kind: 'failed'; visitor: Visitor };

const NO_OBSERVER: VisitorObserver = {};
/** The fast path reads into this one object (a failed read may leave it half written). */
const reading: PositionReading = { position: 0, queueLength: 0, etaSeconds: 0 };

export class Visitor {
  readonly index: number;
  url: string;
  localAddress: string | undefined;
  readonly sendsJoin: boolean;
  readonly handshakeTimeoutMs: number;
  private readonly observer: VisitorObserver;
  private ws: LeanWebSocket | undefined;
  private settle: ((outcome: JoinOutcome) => void) | undefined;

  phase: VisitorPhase = 'idle';
  /** Connections made so far (1 after the first connect; more after reconnects). */
  connects = 0;

  positionId: string | undefined;
  /** The newest ticket (from `joined` or `token_refresh`): resumes the place on any node. */
  ticket: string | undefined;
  ticketExpiresAt = NaN;
  /** true when the last `joined` took over an existing place. */
  resumed = false;

  /** The last position from `joined` or `position_update`, and what came with it. */
  readonly last: PositionReading = { position: NaN, queueLength: NaN, etaSeconds: NaN };
  positionUpdates = 0;
  /** Updates whose position was higher than the one before: positions must only fall. */
  positionRises = 0;
  tokenRefreshes = 0;

  /** Wall-clock ms (nowMs) of the last connect attempt, open, `joined` and `admitted`. */
  connectStartedAt = NaN;
  openedAt = NaN;
  joinedAt = NaN;
  admittedAt = NaN;
  admission: AdmittedData | undefined;
  expiredReason: string | undefined;
  /** The last `error` message, or a connection/upgrade failure (code `CONNECT`). */
  errorCode: string | undefined;
  errorMessage: string | undefined;
  closeCode = 0;
  closeReason = '';

  constructor(opts: VisitorOptions) {
    this.index = opts.index ?? -1;
    this.url = opts.url;
    this.localAddress = opts.localAddress;
    this.sendsJoin = opts.join ?? true;
    this.ticket = opts.ticket;
    this.handshakeTimeoutMs = opts.handshakeTimeoutMs ?? 30_000;
    this.observer = opts.observer ?? NO_OBSERVER;
  }

  get isOpen(): boolean {
    return this.ws !== undefined && this.ws.isOpen;
  }

  /** True when the last close code tells a client to reconnect with backoff (protocol.ts). */
  get closedTransiently(): boolean {
    return this.closeCode !== 0 && isTransientClose(this.closeCode);
  }

  /** Opens the socket and joins (with the ticket when there is one). Progress goes to the observer. */
  connect(): void {
    if (this.ws) throw new Error('already connected: close() first or use reconnect()');
    this.setPhase('connecting');
    this.connects++;
    this.closeCode = 0;
    this.closeReason = '';
    this.errorCode = undefined;
    this.errorMessage = undefined;
    this.connectStartedAt = nowMs();
    const ws = new LeanWebSocket(this.url, {
      maxPayload: 64 * 1024,
      handshakeTimeout: this.handshakeTimeoutMs,
      ...(this.localAddress ? { localAddress: this.localAddress } : {}),
    });
    this.ws = ws;
    ws.on('open', () => this.onOpen());
    ws.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    ws.on('error', (err) => {
      this.errorCode ??= 'CONNECT';
      this.errorMessage ??= err.message;
    });
    ws.on('close', (code, reason) => this.onClose(ws, code, reason));
  }

  /** connect(), resolved once joined, admitted at once, or failed; `timeoutMs` bounds the wait. */
  joinOnce(timeoutMs = 30_000): Promise<JoinOutcome> {
    const outcome = new Promise<JoinOutcome>((resolve) => {
      const timer = setTimeout(() => {
        this.settle = undefined;
        this.errorCode ??= 'TIMEOUT';
        this.errorMessage ??= `no join answer within ${timeoutMs} ms`;
        this.terminate();
        resolve({ kind: 'failed', visitor: this });
      }, timeoutMs);
      this.settle = (o) => {
        clearTimeout(timer);
        resolve(o);
      };
    });
    this.connect();
    return outcome;
  }

  /**
   * Reconnect and resume: closes the current socket if any, then connects again (optionally to
   * another node or from another address) and joins with the ticket, which keeps the same place.
   */
  async reconnect(opts: { url?: string; localAddress?: string; timeoutMs?: number } = {}): Promise<JoinOutcome> {
    if (this.sendsJoin && this.ticket === undefined) throw new Error('no ticket to resume with');
    if (this.ws) {
      const ws = this.ws;
      const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
      this.close(1000, 'reconnecting');
      await Promise.race([closed, new Promise((r) => setTimeout(r, 5_000))]);
      if (this.ws === ws) this.terminate();
    }
    if (opts.url !== undefined) this.url = opts.url;
    if (opts.localAddress !== undefined) this.localAddress = opts.localAddress;
    return this.joinOnce(opts.timeoutMs);
  }

  /** Gives up the place (`leave`); the server answers `expired {reason: left}` and closes. */
  leave(): void {
    this.ws?.send('{"type":"leave"}');
  }

  heartbeat(): void {
    this.ws?.send(`{"type":"heartbeat","data":{"timestamp":${Date.now()}}}`);
  }

  close(code = 1000, reason = ''): void {
    this.ws?.close(code, reason);
  }

  terminate(): void {
    this.ws?.terminate();
  }

  private setPhase(next: VisitorPhase): void {
    const was = this.phase;
    this.phase = next;
    if (was === 'waiting' && next !== 'waiting') this.observer.left?.(this);
  }

  private onOpen(): void {
    this.openedAt = nowMs();
    this.observer.opened?.(this);
    if (!this.sendsJoin) {
      this.setPhase('waiting');
      return;
    }
    this.setPhase('joining');
    this.ws?.send(joinFrame(this.ticket));
  }

  private onFrame(frame: Buffer, isBinary: boolean): void {
    if (!isBinary && readPositionUpdate(frame, reading)) {
      const before = this.last.position;
      this.last.position = reading.position;
      this.last.queueLength = reading.queueLength;
      this.last.etaSeconds = reading.etaSeconds;
      this.onPositionUpdate(before);
      return;
    }
    const message = parseServerFrame(frame);
    if (typeof message === 'string') {
      this.observer.badFrame?.(this, message);
      return;
    }
    this.onMessage(message);
  }

  private onPositionUpdate(before: number): void {
    this.positionUpdates++;
    if (this.last.position > before) this.positionRises++;
    this.observer.positionUpdate?.(this);
  }

  private onMessage(message: ServerMessage): void {
    switch (message.type) {
      case 'joined': {
        const d = message.data;
        this.positionId = d.position_id;
        this.ticket = d.token;
        this.ticketExpiresAt = Date.parse(d.token_expires_at);
        this.resumed = d.resumed;
        this.last.position = d.position;
        this.last.queueLength = d.queue_length;
        this.last.etaSeconds = d.estimated_wait_seconds;
        this.joinedAt = nowMs();
        this.setPhase('waiting');
        this.observer.joined?.(this);
        this.settle?.({ kind: 'joined', visitor: this });
        this.settle = undefined;
        return;
      }
      case 'position_update': {
        // Another shape than the one the fast path reads (e.g. a future field): same meaning.
        const before = this.last.position;
        this.last.position = message.data.position;
        this.last.queueLength = message.data.queue_length;
        this.last.etaSeconds = message.data.estimated_wait_seconds;
        this.onPositionUpdate(before);
        return;
      }
      case 'token_refresh':
        this.ticket = message.data.token;
        this.ticketExpiresAt = Date.parse(message.data.expires_at);
        this.tokenRefreshes++;
        return;
      case 'admitted':
        this.admittedAt = nowMs();
        this.admission = message.data;
        this.setPhase('admitted');
        this.observer.admitted?.(this);
        this.settle?.({ kind: 'admitted', visitor: this });
        this.settle = undefined;
        return;
      case 'expired':
        this.expiredReason = message.data.reason;
        this.setPhase('expired');
        return;
      case 'error':
        this.errorCode = message.data.code;
        this.errorMessage = message.data.message;
        return;
    }
  }

  private onClose(ws: LeanWebSocket, code: number, reason: Buffer): void {
    if (this.ws !== ws) return;
    this.ws = undefined;
    this.closeCode = code;
    this.closeReason = reason.length > 0 ? reason.toString('utf8') : '';
    if (this.phase === 'connecting' || this.phase === 'joining') this.setPhase('failed');
    else if (this.phase === 'waiting') this.setPhase('closed');
    this.observer.closed?.(this);
    this.settle?.({ kind: 'failed', visitor: this });
    this.settle = undefined;
  }
}
