/**
 * One waiting-room visitor over a WebSocket (k6/websockets, the graduated form of
 * k6/experimental/websockets: same API), speaking docs/PROTOCOL.md with the message types of
 * client-sdk/src/protocol.ts: `join` → `joined`, then `position_update`, `token_refresh`,
 * `admitted` / `expired` / `error` until the socket closes. Records what happened; the scenario
 * turns the record into metrics and checks.
 */
import { WebSocket, type MessageEvent } from 'k6/websockets';
import { setTimeout, clearTimeout } from 'k6/timers';
import { parseServerMessage, type ErrorCode, type ExpiredReason } from '../../../client-sdk/src/protocol.ts';

export interface VisitorRecord {
  /** Date.now() when the socket was created. */
  startedAt: number;
  openedAt?: number;
  joinedAt?: number;
  /** From `joined`: where the visitor started and the wait it was promised. */
  positionAtJoin?: number;
  etaAtJoinSeconds?: number;
  resumed?: boolean;
  ticket?: string;
  lastPosition?: number;
  positionUpdates: number;
  /** Updates whose position was higher than the one before (must stay 0). */
  positionRises: number;
  tokenRefreshes: number;
  admittedAt?: number;
  expiredReason?: ExpiredReason;
  errorCode?: ErrorCode;
  /** Frames that were not a known server message. */
  badFrames: number;
  /** true when this script closed the socket (hold time over); false: the server or network did. */
  closedByUs: boolean;
  transportError?: string;
  closedAt?: number;
}

export interface FollowOptions {
  /** ws(s)://host/ws/queues/<id> */
  url: string;
  /** Resume this place instead of taking a new one. */
  ticket?: string;
  /** Close the socket after this long unless the server closed it first (0 = never). */
  holdMs: number;
  /** Send `leave` before closing at the end of the hold (gives the place up at once). */
  leaveAtEnd?: boolean;
  /** Called once, when the socket has closed. */
  done: (record: VisitorRecord) => void;
  /** Optional hook per message type, e.g. to stop early after `joined`. */
  onJoined?: (record: VisitorRecord, ws: WebSocket) => void;
}

function textOf(event: MessageEvent | undefined): string | undefined {
  return event && typeof event.data === 'string' ? event.data : undefined;
}

export function followQueue(opts: FollowOptions): void {
  const record: VisitorRecord = { startedAt: Date.now(), positionUpdates: 0, positionRises: 0, tokenRefreshes: 0, badFrames: 0, closedByUs: false };
  const ws = new WebSocket(opts.url);
  let holdTimer: number | undefined;

  ws.onopen = () => {
    record.openedAt = Date.now();
    ws.send(JSON.stringify({ type: 'join', data: opts.ticket ? { token: opts.ticket } : {} }));
    if (opts.holdMs > 0) {
      holdTimer = setTimeout(() => {
        record.closedByUs = true;
        if (opts.leaveAtEnd) ws.send(JSON.stringify({ type: 'leave', data: {} }));
        ws.close(1000, 'k6 hold time over');
      }, opts.holdMs);
    }
  };

  ws.onmessage = (event) => {
    const text = textOf(event);
    const message = text === undefined ? undefined : parseServerMessage(text);
    if (!message) {
      record.badFrames++;
      return;
    }
    switch (message.type) {
      case 'joined':
        record.joinedAt = Date.now();
        record.positionAtJoin = message.data.position;
        record.lastPosition = message.data.position;
        record.etaAtJoinSeconds = message.data.estimated_wait_seconds;
        record.resumed = message.data.resumed;
        record.ticket = message.data.token;
        opts.onJoined?.(record, ws);
        return;
      case 'position_update':
        record.positionUpdates++;
        if (record.lastPosition !== undefined && message.data.position > record.lastPosition) record.positionRises++;
        record.lastPosition = message.data.position;
        return;
      case 'token_refresh':
        record.tokenRefreshes++;
        record.ticket = message.data.token;
        return;
      case 'admitted':
        record.admittedAt = Date.now();
        return;
      case 'expired':
        record.expiredReason = message.data.reason;
        return;
      case 'error':
        record.errorCode = message.data.code;
        return;
    }
  };

  ws.onerror = (event) => {
    record.transportError = event?.error ?? 'error';
  };

  ws.onclose = () => {
    if (holdTimer !== undefined) clearTimeout(holdTimer);
    record.closedAt = Date.now();
    opts.done(record);
  };
}

/**
 * A socket that ended without being admitted, expired by reason, refused with an error, or
 * closed by this script: the server or the network dropped a waiting visitor.
 */
export function wasDropped(r: VisitorRecord): boolean {
  return !r.closedByUs && r.admittedAt === undefined && r.expiredReason === undefined && r.errorCode === undefined;
}
