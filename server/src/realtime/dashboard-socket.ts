import type { TemplatedApp, WebSocket } from '../http/uws.js';
import type { Logger } from '../observability/logger.js';
import type { DashboardFeed, DashboardMessage } from './dashboard-feed.js';
import { CLOSE } from './protocol.js';

export const DASHBOARD_SOCKET_PATH = '/ws/admin/dashboard';
/** Every signed-in page of this node subscribes to it: one publish reaches them all. */
const TOPIC = 'dashboard';
/** The first message must be `auth` and come this soon. */
const AUTH_TIMEOUT_MS = 10_000;
/** Pages open at once on one node: an operator tool, not a public endpoint. */
const MAX_SOCKETS = 64;
const MAX_FRAME_BYTES = 4 * 1024;
/** A page that cannot keep up with snapshots is dropped (it reconnects). */
const MAX_BACKPRESSURE_BYTES = 4 * 1024 * 1024;

interface DashboardSocketData {
  authed: boolean;
  closed: boolean;
  openedAt: number;
}

export interface DashboardSocketOptions {
  feed: () => DashboardFeed;
  /** undefined: the admin API is off (no ADMIN_API_KEY). */
  checkKey: ((key: string) => boolean) | undefined;
  log: Logger;
}

const encode = (m: DashboardMessage) => JSON.stringify(m);

/**
 * The dashboard's live feed over a WebSocket. Browsers cannot put a header on a WebSocket and
 * the key must stay out of URLs, so the page proves itself in its first message
 * (`{"type":"auth","data":{"key":…}}`); a wrong key gets an error and close 4401, and nothing
 * else is sent before a right one.
 */
export function mountDashboardSocket(app: TemplatedApp, opts: DashboardSocketOptions) {
  const open = new Set<WebSocket<DashboardSocketData>>();
  const fail = (ws: WebSocket<DashboardSocketData>, code: string, message: string, close: number) => {
    const data = ws.getUserData();
    if (data.closed) return;
    ws.send(encode({ type: 'error', data: { code, message } }), false);
    data.closed = true;
    ws.end(close, message.slice(0, 120));
  };
  const authSweep = setInterval(() => {
    const cutoff = Date.now() - AUTH_TIMEOUT_MS;
    for (const ws of open) {
      const data = ws.getUserData();
      if (!data.authed && data.openedAt < cutoff) fail(ws, 'UNAUTHORIZED', 'Send auth first', CLOSE.UNAUTHORIZED);
    }
  }, 1_000);
  authSweep.unref();

  app.ws<DashboardSocketData>(DASHBOARD_SOCKET_PATH, {
    compression: 0,
    maxPayloadLength: MAX_FRAME_BYTES,
    idleTimeout: 60,
    sendPingsAutomatically: true,
    maxBackpressure: MAX_BACKPRESSURE_BYTES,
    closeOnBackpressureLimit: 1,

    upgrade(res, req, context) {
      if (open.size >= MAX_SOCKETS) {
        res.writeStatus('503 Service Unavailable').writeHeader('content-type', 'application/json');
        res.end(JSON.stringify({ error: { code: 'SERVICE_UNAVAILABLE', message: 'Too many dashboard connections' } }));
        return;
      }
      const data: DashboardSocketData = { authed: false, closed: false, openedAt: Date.now() };
      res.upgrade(
        data,
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },

    open(ws) {
      open.add(ws);
      if (!opts.checkKey) fail(ws, 'FORBIDDEN', 'The admin API is disabled: set ADMIN_API_KEY to enable it', CLOSE.UNAUTHORIZED);
    },

    message(ws, frame) {
      const data = ws.getUserData();
      if (data.closed) return;
      if (data.authed) return fail(ws, 'INVALID_REQUEST', 'Nothing to send after auth', CLOSE.BAD_REQUEST);
      let key: unknown;
      try {
        const message = JSON.parse(Buffer.from(frame).toString('utf8')) as { type?: unknown; data?: { key?: unknown } };
        if (message.type !== 'auth') return fail(ws, 'INVALID_REQUEST', 'Send auth first', CLOSE.BAD_REQUEST);
        key = message.data?.key;
      } catch {
        return fail(ws, 'INVALID_REQUEST', 'Malformed JSON', CLOSE.BAD_REQUEST);
      }
      if (typeof key !== 'string' || key === '') return fail(ws, 'UNAUTHORIZED', 'Missing admin key', CLOSE.UNAUTHORIZED);
      if (!opts.checkKey?.(key)) return fail(ws, 'UNAUTHORIZED', 'Invalid admin key', CLOSE.UNAUTHORIZED);
      data.authed = true;
      ws.subscribe(TOPIC);
      opts
        .feed()
        .welcome((m) => {
          if (!data.closed) ws.send(encode(m), false);
        })
        .catch((err: unknown) => opts.log.warn({ err }, 'dashboard welcome failed'));
    },

    close(ws) {
      const data = ws.getUserData();
      data.closed = true;
      open.delete(ws);
      if (data.authed) opts.feed().leave();
    },
  });

  return {
    broadcast(message: DashboardMessage) {
      app.publish(TOPIC, encode(message), false);
    },
    stop() {
      clearInterval(authSweep);
      for (const ws of open) {
        const data = ws.getUserData();
        if (!data.closed) {
          data.closed = true;
          ws.end(CLOSE.GOING_AWAY, 'node draining');
        }
      }
    },
  };
}
