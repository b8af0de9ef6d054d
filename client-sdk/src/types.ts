import type { ErrorCode, ExpiredReason } from './protocol.js';

/**
 * The public types of the SDK: options, states and the event map. Everything here is plain
 * data; nothing refers to the DOM, so the same core runs in browsers, React Native and Node.
 */

/**
 * - `idle`: created, not started.
 * - `connecting`: the first connection of `start()` is being opened.
 * - `waiting`: in line over the WebSocket (the open socket keeps the place).
 * - `polling`: in line over the REST fallback (heartbeats keep the place).
 * - `reconnecting`: the connection was lost; the place is kept for the grace period while the
 *   SDK retries with backoff (`retryInMs` on the `state` event).
 * - `offline`: the device is offline; retries pause until it is back online.
 * - `replaced`: another tab or window of this browser took the place over (close 4409); this
 *   one stays quiet until it becomes visible again (or `start()` is called).
 * - `admitted`, `expired`: final outcomes (see the `admitted` / `expired` events).
 * - `closed`: `stop()` or `leave()` was called (or another tab finished with the place).
 * - `error`: a final error (see the `error` event with `fatal: true`).
 */
export type WaitingRoomState =
  | 'idle'
  | 'connecting'
  | 'waiting'
  | 'polling'
  | 'reconnecting'
  | 'offline'
  | 'replaced'
  | 'admitted'
  | 'expired'
  | 'closed'
  | 'error';

export type Transport = 'websocket' | 'polling';

export interface StateChange {
  state: WaitingRoomState;
  previous: WaitingRoomState;
  /** With `reconnecting`: when the next attempt starts. */
  retryInMs?: number;
}

export interface PositionSnapshot {
  /** 1 = next in line. Exact: counts everyone ahead in every lane. */
  position: number;
  queueLength: number;
  /** Estimated wait, from the admission rate measured over the last minute. */
  etaSeconds: number;
}

export interface JoinedEvent extends PositionSnapshot {
  positionId: string;
  /** true when an existing place was resumed (reload, reconnect, another tab). */
  resumed: boolean;
  transport: Transport;
  /** The position when this place was first taken (kept across reloads); for progress bars. */
  startPosition: number;
}

export interface Admission {
  /** The signed admission JWT the origin verifies through `/.well-known/jwks.json`. */
  sessionToken: string;
  sessionId: string;
  redirectUrl: string;
  /** ISO 8601. */
  sessionExpiresAt: string;
}

export interface ExpiredEvent {
  /** `left` after `leave()`; otherwise the place timed out or was removed. */
  reason: ExpiredReason;
}

/** Codes of errors the SDK raises itself, next to the server's {@link ErrorCode}s. */
export type ClientErrorCode =
  /** transport: 'websocket' but no WebSocket implementation, or it refused to connect. */
  | 'WEBSOCKET_UNAVAILABLE'
  /** Polling needs `fetch`. */
  | 'FETCH_UNAVAILABLE'
  /** The socket closed with a final close code the SDK has no special meaning for. */
  | 'CONNECTION_CLOSED';

export interface WaitingRoomError {
  code: ErrorCode | ClientErrorCode;
  message: string;
  /** true: the SDK gave up (state `error`); false: it keeps retrying. */
  fatal: boolean;
  /** The WebSocket close code, when a close caused it. */
  closeCode?: number;
}

/** The typed event map of `room.on(event, handler)`. */
export interface WaitingRoomEvents {
  state: StateChange;
  joined: JoinedEvent;
  position: PositionSnapshot;
  admitted: Admission;
  expired: ExpiredEvent;
  error: WaitingRoomError;
}

/** The part of `localStorage` the SDK uses. Calls may throw (Safari private mode): they are guarded. */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * A handler slot of a socket. Declared through a method so that the DOM's, React Native's
 * and the `ws` package's handler types (with richer event types) all fit.
 */
type Handler<E> = { bivarianceHack(event: E): void }['bivarianceHack'];

/** What the SDK needs of a WebSocket: the browser's, React Native's, or the `ws` package's. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onclose: Handler<{ code: number; reason: string }> | null;
  onerror: Handler<unknown> | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface FetchResponseLike {
  readonly ok: boolean;
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  json(): Promise<unknown>;
}

export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; keepalive?: boolean },
) => Promise<FetchResponseLike>;

/**
 * Connectivity and visibility of the page or app. In a browser the SDK listens to
 * `online` / `offline` and `visibilitychange`; elsewhere nothing is assumed (always online and
 * visible) unless you pass one — e.g. from React Native's NetInfo and AppState.
 */
export interface Environment {
  isOnline(): boolean;
  isVisible(): boolean;
  /** Calls `listener` on every change; returns the unsubscribe function. */
  subscribe(listener: (change: 'online' | 'offline' | 'visible' | 'hidden') => void): () => void;
}

export interface WaitingRoomOptions {
  /** The waiting room server's base URL (`https://queue.example`). Default: this page's origin. */
  url?: string;
  queueId: string;
  /**
   * Where the ticket is kept, so a reload or a second tab resumes the same place. Default:
   * `localStorage` when there is one, else memory (a reload then starts a new place).
   */
  storage?: StorageLike;
  /** Storage key. Default `wr:ticket:<queueId>`. */
  storageKey?: string;
  /** WebSocket implementation. Default: `globalThis.WebSocket` (none in Node 20: pass `ws`). */
  WebSocket?: WebSocketConstructor;
  /** Default: `globalThis.fetch`. */
  fetch?: FetchLike;
  /** `auto` (default): WebSocket, falling back to REST polling when sockets are blocked. */
  transport?: 'auto' | 'websocket' | 'polling';
  /**
   * What happens on admission, after the `admitted` event: `redirect` (default) hands the
   * session token over (`tokenHandoff`) and navigates to the queue's `redirect_url`; `none`
   * does nothing; a function is called with the admission instead.
   */
  onAdmitted?: 'redirect' | 'none' | ((admission: Admission) => void);
  /**
   * How the redirect hands the session token to the origin: `auto` (default) sets the cookie
   * where it reaches the origin (the redirect goes to this page's host, or into `cookieDomain`)
   * and appends the query parameter otherwise; `query` appends `?wr_token=<token>` to the
   * redirect URL; `cookie` sets `wr_session=<token>` (needs the waiting room and the origin to
   * share a parent domain: see `cookieDomain`); `none`.
   */
  tokenHandoff?: TokenHandoff;
  /** Cookie `Domain` for `tokenHandoff: 'cookie'`, e.g. `example.com`. Default: host-only. */
  cookieDomain?: string;
  /** Default `wr_session`. */
  cookieName?: string;
  /** Default `wr_token`. */
  queryParam?: string;
  /** Reconnect backoff: delay = random(0, min(maxMs, initialMs · 2^attempt)). Default 500 / 20 000 ms. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Polling: the shortest interval between heartbeats (default 1 000 ms). */
  pollMinIntervalMs?: number;
  /** A signed priority grant for a faster lane (sent with the first join only). */
  priorityGrant?: string;
  /** Connectivity and visibility; default: the browser's when there is one. */
  environment?: Environment;
  /** Random numbers in [0, 1) for the jitter; default `Math.random` (tests inject their own). */
  random?: () => number;
}

export type TokenHandoff = 'auto' | 'query' | 'cookie' | 'none';

export interface WaitingRoom {
  readonly queueId: string;
  readonly state: WaitingRoomState;
  /** The last known position (undefined before the first `joined`). */
  readonly position: PositionSnapshot | undefined;
  readonly positionId: string | undefined;
  /** The position when the place was first taken; 0 before the first `joined`. */
  readonly startPosition: number;
  readonly admission: Admission | undefined;
  /** The transport in use (or last used). */
  readonly transport: Transport | undefined;
  readonly lastError: WaitingRoomError | undefined;
  /** Subscribes; returns the unsubscribe function. */
  on<K extends keyof WaitingRoomEvents>(event: K, handler: (payload: WaitingRoomEvents[K]) => void): () => void;
  off<K extends keyof WaitingRoomEvents>(event: K, handler: (payload: WaitingRoomEvents[K]) => void): void;
  /**
   * Joins the queue, or resumes the stored place. Idempotent while running; after `stop()`,
   * `replaced`, `expired`, `admitted` or `error` it starts again.
   */
  start(): void;
  /** Gives the place up (server-side), clears the ticket, and closes. */
  leave(): Promise<void>;
  /**
   * Closes the connection and keeps the ticket: the place is held for the grace period
   * (`heartbeat_timeout_seconds`) and a later `start()` or a reload resumes it.
   */
  stop(): void;
}
