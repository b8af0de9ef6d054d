import { createBackoff } from './backoff.js';
import { createEmitter } from './emitter.js';
import { defaultEnvironment } from './environment.js';
import { redirectToOrigin } from './handoff.js';
import { startPollingSession } from './poll-session.js';
import type { AdmittedData, JoinedData, PositionUpdateData } from './protocol.js';
import { createRestClient } from './rest.js';
import type { Session, SessionEnd, SessionHandler } from './session.js';
import { openSocketSession } from './socket-session.js';
import { createTicketStore, defaultStorage } from './ticket-store.js';
import type {
  Admission,
  FetchLike,
  PositionSnapshot,
  Transport,
  WaitingRoom,
  WaitingRoomError,
  WaitingRoomEvents,
  WaitingRoomOptions,
  WaitingRoomState,
  WebSocketConstructor,
} from './types.js';

/** Sockets that fail to open this many times in a row, never having opened, mean "blocked": poll. */
const FAILED_OPENS_BEFORE_POLLING = 2;
/** How long `leave()` waits for the server's confirmation on the socket before using REST. */
const LEAVE_TIMEOUT_MS = 5_000;

/** States in which the room holds (or is getting back) a place. */
const RUNNING: ReadonlySet<WaitingRoomState> = new Set(['connecting', 'waiting', 'polling', 'reconnecting', 'offline', 'replaced']);

/**
 * Creates a waiting room client for one queue. Nothing happens until `start()`.
 *
 * ```ts
 * const room = createWaitingRoom({ url: 'https://queue.example', queueId: 'concert-tickets' });
 * room.on('position', (p) => render(p.position, p.etaSeconds));
 * room.start();
 * ```
 */
export function createWaitingRoom(options: WaitingRoomOptions): WaitingRoom {
  const { queueId } = options;
  const baseUrl = resolveBaseUrl(options.url);
  const socketUrl = `${baseUrl.replace(/^http/, 'ws')}/ws/queues/${encodeURIComponent(queueId)}`;
  const tickets = createTicketStore(options.storage ?? defaultStorage(), options.storageKey ?? `wr:ticket:${queueId}`);
  const environment = options.environment ?? defaultEnvironment();
  const random = options.random ?? Math.random;
  const backoff = createBackoff({ ...options.backoff, random });
  const emitter = createEmitter<WaitingRoomEvents>();
  const WebSocketImpl: WebSocketConstructor | undefined =
    options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  const fetchImpl: FetchLike | undefined =
    options.fetch ?? (typeof globalThis.fetch === 'function' ? (globalThis.fetch.bind(globalThis) as FetchLike) : undefined);
  const rest = fetchImpl ? createRestClient(baseUrl, queueId, fetchImpl) : undefined;
  const preferred = options.transport ?? 'auto';

  let state: WaitingRoomState = 'idle';
  let session: Session | undefined;
  /** Bumped for every session, so reports of a closed one are ignored. */
  let generation = 0;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let unsubscribeEnvironment: (() => void) | undefined;
  let usePolling = preferred === 'polling';
  let everOpened = false;
  let failedOpens = 0;
  /** A refused ticket is dropped and the room joins anew, once; a second refusal is final. */
  let rejoinedAfterUnauthorized = false;
  let sentTicket = false;
  let leaveWaiter: ((confirmed: boolean) => void) | undefined;

  let transport: Transport | undefined;
  let position: PositionSnapshot | undefined;
  let positionId: string | undefined;
  let startPosition = 0;
  let admission: Admission | undefined;
  let lastError: WaitingRoomError | undefined;

  function setState(next: WaitingRoomState, retryInMs?: number) {
    if (next === state && retryInMs === undefined) return;
    const previous = state;
    state = next;
    emitter.emit('state', { state: next, previous, ...(retryInMs !== undefined ? { retryInMs } : {}) });
  }

  function reportError(error: WaitingRoomError) {
    lastError = error;
    emitter.emit('error', error);
  }

  function clearRetry() {
    if (retryTimer !== undefined) clearTimeout(retryTimer);
    retryTimer = undefined;
  }

  /** Drops the connection, timers and environment listeners. */
  function teardown() {
    clearRetry();
    generation++;
    session?.close();
    session = undefined;
    unsubscribeEnvironment?.();
    unsubscribeEnvironment = undefined;
  }

  function fail(error: WaitingRoomError) {
    teardown();
    setState('error');
    reportError(error);
  }

  function connect() {
    clearRetry();
    generation++;
    session?.close();
    session = undefined;
    if (!environment.isOnline()) return setState('offline');
    const stored = tickets.read();
    sentTicket = stored !== undefined;
    const handler = handlerFor(generation);

    if (!usePolling) {
      if (!WebSocketImpl) {
        if (preferred === 'websocket') return fail(unavailable('No WebSocket implementation: pass options.WebSocket'));
        usePolling = true;
      } else {
        try {
          const join = stored ? { token: stored.token } : options.priorityGrant ? { priority_grant: options.priorityGrant } : {};
          session = openSocketSession({ url: socketUrl, WebSocket: WebSocketImpl, join }, handler);
          transport = 'websocket';
          return;
        } catch (err) {
          // Blocked by CSP, mixed content, a sandbox: sockets will not work here.
          if (preferred === 'websocket') return fail(unavailable(`WebSocket refused to connect: ${String(err)}`));
          usePolling = true;
        }
      }
    }
    if (!rest) return fail({ code: 'FETCH_UNAVAILABLE', message: 'Polling needs fetch: pass options.fetch', fatal: true });
    transport = 'polling';
    session = startPollingSession(
      {
        rest,
        ticket: stored?.token,
        ...(options.priorityGrant ? { priorityGrant: options.priorityGrant } : {}),
        minIntervalMs: options.pollMinIntervalMs ?? 1_000,
        random,
      },
      handler,
    );
  }

  function scheduleRetry(atLeastMs = 0) {
    generation++;
    session = undefined;
    if (!environment.isOnline()) return setState('offline');
    const delay = Math.max(backoff.next(), atLeastMs);
    setState('reconnecting', delay);
    retryTimer = setTimeout(connect, delay);
  }

  function handlerFor(id: number): SessionHandler {
    const current = () => id === generation;
    return {
      joined(view) {
        if (current()) onJoined(view);
      },
      position(update) {
        if (current()) onPosition(update);
      },
      token(token) {
        if (current()) tickets.write({ token, startPosition });
      },
      end(end) {
        if (current()) onEnd(end);
      },
    };
  }

  function onJoined(view: JoinedData) {
    const stored = tickets.read();
    startPosition = view.resumed && stored?.startPosition ? Math.max(stored.startPosition, view.position) : view.position;
    tickets.write({ token: view.token, startPosition });
    backoff.reset();
    failedOpens = 0;
    rejoinedAfterUnauthorized = false;
    if (transport === 'websocket') everOpened = true;
    positionId = view.position_id;
    position = { position: view.position, queueLength: view.queue_length, etaSeconds: view.estimated_wait_seconds };
    setState(transport === 'polling' ? 'polling' : 'waiting');
    emitter.emit('joined', { ...position, positionId, resumed: view.resumed, transport: transport ?? 'websocket', startPosition });
    emitter.emit('position', position);
  }

  function onPosition(update: PositionUpdateData) {
    const next = { position: update.position, queueLength: update.queue_length, etaSeconds: update.estimated_wait_seconds };
    if (position && next.position === position.position && next.queueLength === position.queueLength && next.etaSeconds === position.etaSeconds) {
      return;
    }
    position = next;
    emitter.emit('position', next);
  }

  function onEnd(end: SessionEnd) {
    if (leaveWaiter) {
      const waiter = leaveWaiter;
      leaveWaiter = undefined;
      return waiter(end.kind === 'expired');
    }
    switch (end.kind) {
      case 'admitted':
        return onAdmitted(end.admission);
      case 'expired':
        teardown();
        tickets.clear();
        setState('expired');
        emitter.emit('expired', { reason: end.reason });
        return;
      case 'replaced':
        // Another tab holds the place now. Fighting back would make the two tabs take it
        // from each other forever: wait quietly until this one becomes visible again.
        generation++;
        session = undefined;
        setState('replaced');
        return;
      case 'unauthorized':
        if (end.error?.code === 'FORBIDDEN' || !sentTicket || rejoinedAfterUnauthorized) {
          return fail({ code: end.error?.code ?? 'UNAUTHORIZED', message: end.error?.message ?? 'Unauthorized', fatal: true });
        }
        // The ticket is forged, expired or of another queue: drop it and take a new place, once.
        tickets.clear();
        rejoinedAfterUnauthorized = true;
        return connect();
      case 'lost':
        if (transport === 'websocket') {
          if (end.opened) {
            everOpened = true;
            failedOpens = 0;
          } else failedOpens++;
        }
        if (end.error) reportError({ ...end.error, fatal: false, ...(end.closeCode ? { closeCode: end.closeCode } : {}) });
        if (preferred === 'auto' && transport === 'websocket' && !everOpened && failedOpens >= FAILED_OPENS_BEFORE_POLLING) {
          usePolling = true;
          return connect();
        }
        return scheduleRetry(end.retryAfterMs);
      case 'failed':
        return fail(end.error);
    }
  }

  function onAdmitted(data: AdmittedData) {
    teardown();
    tickets.clear();
    admission = {
      sessionToken: data.session_token,
      sessionId: data.session_id,
      redirectUrl: data.redirect_url,
      sessionExpiresAt: data.session_expires_at,
    };
    setState('admitted');
    emitter.emit('admitted', admission);
    const action = options.onAdmitted ?? 'redirect';
    if (typeof action === 'function') action(admission);
    else if (action === 'redirect') {
      redirectToOrigin(admission, {
        tokenHandoff: options.tokenHandoff ?? 'auto',
        ...(options.queryParam ? { queryParam: options.queryParam } : {}),
        ...(options.cookieName ? { cookieName: options.cookieName } : {}),
        ...(options.cookieDomain ? { cookieDomain: options.cookieDomain } : {}),
      });
    }
  }

  function onEnvironment(change: 'online' | 'offline' | 'visible' | 'hidden') {
    if (!RUNNING.has(state)) return;
    switch (change) {
      case 'offline':
        // Pause: no retries (and no polling) until the device is back online. An open socket
        // is left alone; it survives short blips.
        if (retryTimer !== undefined || session?.transport === 'polling') {
          teardownSessionOnly();
          setState('offline');
        }
        return;
      case 'online':
        if (state === 'offline' || state === 'reconnecting') reconnectNow();
        return;
      case 'visible':
        if (state === 'replaced') resumeAfterReplaced();
        else if (state === 'reconnecting' || (state === 'offline' && environment.isOnline())) reconnectNow();
        else session?.poke();
        return;
      case 'hidden':
        return;
    }
  }

  function teardownSessionOnly() {
    clearRetry();
    generation++;
    session?.close();
    session = undefined;
  }

  function reconnectNow() {
    setState('reconnecting');
    connect();
  }

  function resumeAfterReplaced() {
    // No ticket left: the other tab was admitted, left or expired; this one is done.
    if (!tickets.read()) {
      teardown();
      return setState('closed');
    }
    setState('connecting');
    connect();
  }

  return {
    queueId,
    get state() {
      return state;
    },
    get position() {
      return position;
    },
    get positionId() {
      return positionId;
    },
    get startPosition() {
      return startPosition;
    },
    get admission() {
      return admission;
    },
    get transport() {
      return transport;
    },
    get lastError() {
      return lastError;
    },
    on: emitter.on,
    off: emitter.off,

    start() {
      if (RUNNING.has(state) && state !== 'replaced') return;
      unsubscribeEnvironment ??= environment.subscribe(onEnvironment);
      rejoinedAfterUnauthorized = false;
      backoff.reset();
      admission = undefined;
      setState('connecting');
      connect();
    },

    stop() {
      teardown();
      if (RUNNING.has(state)) setState('closed');
    },

    async leave() {
      const stored = tickets.read();
      let confirmed = false;
      if (session?.leave()) {
        confirmed = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => {
            leaveWaiter = undefined;
            resolve(false);
          }, LEAVE_TIMEOUT_MS);
          leaveWaiter = (ok) => {
            clearTimeout(timer);
            resolve(ok);
          };
        });
      }
      teardown();
      if (!confirmed && stored && rest) await rest.leave(stored.token).catch(() => undefined);
      tickets.clear();
      setState('closed');
      if (stored || confirmed) emitter.emit('expired', { reason: 'left' });
    },
  };
}

function unavailable(message: string): WaitingRoomError {
  return { code: 'WEBSOCKET_UNAVAILABLE', message, fatal: true };
}

/** An absolute base URL without a trailing slash; relative ones resolve against the page. */
function resolveBaseUrl(url: string | undefined): string {
  const page = typeof location === 'undefined' ? undefined : location.href;
  if (url === undefined && page === undefined) throw new TypeError('createWaitingRoom: `url` is required outside a browser');
  const resolved = new URL(url ?? '/', page);
  return `${resolved.origin}${resolved.pathname}`.replace(/\/+$/, '');
}
