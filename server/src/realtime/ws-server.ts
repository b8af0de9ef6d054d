import { ChallengeRequiredError, type JoinGuard } from '../abuse/join-guard.js';
import type { ChallengeSolution } from '../abuse/challenge.js';
import { AppError } from '../domain/errors.js';
import { isValidQueueId } from '../domain/queue.js';
import type { IpRateLimiter } from '../http/rate-limit.js';
import type { TemplatedApp, WebSocket } from '../http/uws.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { PositionService } from '../services/positions.js';
import type { Connection, Hub } from './hub.js';
import { CLOSE, MAX_FRAME_BYTES, closeCodeFor, decode, encode, type ClientMessage, type ServerMessage } from './protocol.js';

/** Per-socket state, typed through uWS's UserData generic. */
interface SocketData {
  queueId: string;
  ipHash: string;
  userAgent: string;
  /** A ticket sent as `Authorization: Bearer` on the upgrade: join at once with it. */
  upgradeTicket: string | undefined;
  state: 'new' | 'joining' | 'waiting' | 'done';
  positionId: string | undefined;
  conn: Connection | undefined;
  badFrames: number;
  windowStart: number;
  framesInWindow: number;
  closed: boolean;
}

export interface WsServerOptions {
  hub: Hub;
  positions: PositionService;
  metrics: Metrics;
  log: Logger;
  nodeNumber: number;
  /** Salted IP hash of a peer address (same as the REST limits). */
  ipKey: (peer: string, forwardedFor: string | undefined) => string;
  joinLimiter: IpRateLimiter;
  guard: JoinGuard;
  maxSocketsPerIp: number;
  idleTimeoutSeconds: number;
  maxBackpressureBytes: number;
  /** A client must send `join` this soon after connecting. */
  joinTimeoutMs: number;
}

const FRAMES_PER_10S = 30;
const MAX_BAD_FRAMES = 5;

/**
 * The uWS adapter of the socket protocol: upgrade checks, frame parsing and limits, and
 * backpressure. What a join or leave means is decided by the position service and the hub.
 */
export function mountWebSocket(app: TemplatedApp, opts: WsServerOptions) {
  const { hub, metrics, log } = opts;
  const socketsPerIp = new Map<string, number>();
  const open = new Set<WebSocket<SocketData>>();
  /** Sockets that have not sent `join` yet, with when they opened: one sweep, no timer per socket. */
  const awaitingJoin = new Map<WebSocket<SocketData>, number>();
  const joinSweep = setInterval(() => {
    const cutoff = Date.now() - opts.joinTimeoutMs;
    for (const [ws, openedAt] of awaitingJoin) {
      if (openedAt > cutoff) break; // insertion order = opening order
      awaitingJoin.delete(ws);
      const data = ws.getUserData();
      if (!data.closed && data.state === 'new') {
        data.conn?.send({ type: 'error', data: { code: 'INVALID_REQUEST', message: 'Send join first' } });
        data.conn?.close(CLOSE.BAD_REQUEST, 'no join');
      }
    }
  }, Math.min(1_000, Math.max(50, opts.joinTimeoutMs / 2)));
  joinSweep.unref();

  function connectionOf(ws: WebSocket<SocketData>): Connection {
    const data = ws.getUserData();
    return {
      send(message: ServerMessage) {
        if (data.closed) return;
        ws.send(encode(message), false);
        // A consumer that cannot keep up is dropped; it reconnects (transient) and resumes.
        if (!data.closed && ws.getBufferedAmount() > opts.maxBackpressureBytes) {
          data.closed = true;
          ws.end(CLOSE.SLOW_CONSUMER, 'slow consumer');
        }
      },
      close(code, reason) {
        if (data.closed) return;
        data.closed = true;
        data.state = 'done';
        ws.end(code, reason);
      },
    };
  }

  function fail(ws: WebSocket<SocketData>, err: unknown, closeAfter: boolean) {
    const data = ws.getUserData();
    const appError = err instanceof AppError ? err : new AppError('INTERNAL_ERROR', 'Internal error');
    if (!(err instanceof AppError)) log.error({ err }, 'socket handler failed');
    data.conn?.send({ type: 'error', data: { code: appError.code, message: appError.message } });
    if (closeAfter) data.conn?.close(closeCodeFor(appError.code), appError.message.slice(0, 120));
  }

  async function join(
    ws: WebSocket<SocketData>,
    ticket: string | undefined,
    grant: string | undefined,
    challengeSolution?: ChallengeSolution,
  ) {
    awaitingJoin.delete(ws);
    const data = ws.getUserData();
    data.state = 'joining';
    const client = { ipKey: data.ipHash, userAgent: data.userAgent || undefined };
    try {
      if (!ticket) await opts.joinLimiter.consume(data.ipHash).catch(async (err: unknown) => {
        await opts.guard.refused(client);
        throw err;
      });
      const result = await opts.positions.join({
        queueId: data.queueId,
        priority: 0,
        ticket,
        isAdmin: false,
        priorityGrant: grant,
        holder: opts.nodeNumber,
        client,
        challengeSolution,
      });
      if (data.closed) {
        // The socket went away while joining: start the grace period of the place it got.
        if (result.view.status === 'waiting' && !result.tarpit) await hub.abandon(data.queueId, result.view.position_id);
        return;
      }
      data.positionId = result.view.position_id;
      data.userAgent = ''; // only a new place's checks read it
      if (result.view.status === 'admitted') {
        data.conn?.send({
          type: 'admitted',
          data: {
            session_id: result.view.session_id,
            session_token: result.view.session_token,
            redirect_url: result.view.redirect_url,
            session_expires_at: result.view.session_expires_at,
          },
        });
        data.conn?.close(CLOSE.ADMITTED, 'admitted');
        return;
      }
      data.state = 'waiting';
      if (result.tarpit) {
        // A suspected bot: its place lives in its ticket only; nothing to track or detach.
        data.positionId = undefined;
        data.conn?.send({ type: 'joined', data: { ...result.view, resumed: !result.created } });
        return;
      }
      hub.attach(data.queueId, data.conn as Connection, result.view, result.tracking!, !result.created);
    } catch (err) {
      data.state = 'new';
      if (err instanceof ChallengeRequiredError && !data.closed) {
        // The socket stays open for the answer: a `join` with challenge_solution, in time.
        data.conn?.send({ type: 'challenge', data: { challenge: err.challenge, reason: err.reason } });
        awaitingJoin.set(ws, Date.now());
        return;
      }
      fail(ws, err, true);
    }
  }

  function onMessage(ws: WebSocket<SocketData>, message: ClientMessage) {
    const data = ws.getUserData();
    metrics.socketMessages.inc({ direction: 'in', type: message.type });
    switch (message.type) {
      case 'join':
        if (data.state !== 'new') throw new AppError('INVALID_REQUEST', 'Already joined on this connection');
        void join(ws, message.data?.token, message.data?.priority_grant, message.data?.challenge_solution);
        return;
      case 'heartbeat':
        // The open socket is the heartbeat; accepted for clients that send one anyway.
        return;
      case 'leave':
        if (data.state === 'waiting' && !data.positionId) {
          // A tarpitted bot leaves as a visitor would; there is nothing to remove.
          data.conn?.send({ type: 'expired', data: { reason: 'left' } });
          return data.conn?.close(CLOSE.NORMAL, 'left');
        }
        if (data.state !== 'waiting' || !data.positionId) {
          throw new AppError('INVALID_REQUEST', 'Not waiting in a queue on this connection');
        }
        hub.leave(data.queueId, data.positionId, data.conn as Connection).catch((err: unknown) => fail(ws, err, false));
        return;
    }
  }

  app.ws<SocketData>('/ws/queues/:queue_id', {
    compression: 0,
    maxPayloadLength: MAX_FRAME_BYTES,
    idleTimeout: opts.idleTimeoutSeconds,
    sendPingsAutomatically: true,
    maxBackpressure: opts.maxBackpressureBytes * 2,
    closeOnBackpressureLimit: 0,

    upgrade(res, req, context) {
      const queueId = decodeURIComponentSafe(req.getParameter(0) ?? '');
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      const authorization = req.getHeader('authorization');
      const userAgent = req.getHeader('user-agent');
      const ipHash = opts.ipKey(Buffer.from(res.getRemoteAddressAsText()).toString(), req.getHeader('x-forwarded-for') || undefined);
      const refuse = (status: string, code: string, message: string) => {
        res.writeStatus(status).writeHeader('content-type', 'application/json').end(JSON.stringify({ error: { code, message } }));
      };
      if (!isValidQueueId(queueId)) return refuse('400 Bad Request', 'INVALID_REQUEST', 'Invalid queue id');
      if ((socketsPerIp.get(ipHash) ?? 0) >= opts.maxSocketsPerIp) {
        metrics.rateLimited.inc({ limit: 'sockets' });
        return refuse('429 Too Many Requests', 'RATE_LIMITED', 'Too many open connections from this address');
      }
      const bearer = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
      const data: SocketData = {
        queueId,
        ipHash,
        userAgent,
        upgradeTicket: bearer,
        state: 'new',
        positionId: undefined,
        conn: undefined,
        badFrames: 0,
        windowStart: Date.now(),
        framesInWindow: 0,
        closed: false,
      };
      res.upgrade(data, key, protocol, extensions, context);
    },

    open(ws) {
      const data = ws.getUserData();
      data.conn = connectionOf(ws);
      open.add(ws);
      socketsPerIp.set(data.ipHash, (socketsPerIp.get(data.ipHash) ?? 0) + 1);
      metrics.socketsConnected.inc();
      if (data.upgradeTicket) {
        const ticket = data.upgradeTicket;
        data.upgradeTicket = undefined; // nothing per socket is kept longer than it is needed
        void join(ws, ticket, undefined);
      } else {
        awaitingJoin.set(ws, Date.now());
      }
    },

    message(ws, frame) {
      const data = ws.getUserData();
      const now = Date.now();
      if (now - data.windowStart > 10_000) {
        data.windowStart = now;
        data.framesInWindow = 0;
      }
      if (++data.framesInWindow > FRAMES_PER_10S) {
        metrics.rateLimited.inc({ limit: 'frames' });
        return fail(ws, new AppError('RATE_LIMITED', 'Too many messages'), true);
      }
      const message = decode(frame);
      if (typeof message === 'string') {
        data.badFrames++;
        return fail(ws, new AppError('INVALID_REQUEST', message), data.badFrames >= MAX_BAD_FRAMES);
      }
      try {
        onMessage(ws, message);
      } catch (err) {
        fail(ws, err, false);
      }
    },

    close(ws, code) {
      const data = ws.getUserData();
      const wasWaiting = data.state === 'waiting';
      data.closed = true;
      open.delete(ws);
      awaitingJoin.delete(ws);
      const left = (socketsPerIp.get(data.ipHash) ?? 1) - 1;
      if (left > 0) socketsPerIp.set(data.ipHash, left);
      else socketsPerIp.delete(data.ipHash);
      metrics.socketsConnected.dec();
      metrics.socketCloses.inc({ code: String(code) });
      if (wasWaiting && data.positionId && data.conn) {
        hub.detach(data.queueId, data.positionId, data.conn).catch((err: unknown) => log.warn({ err }, 'detach failed'));
      }
    },
  });

  return {
    openSockets: () => open.size,
    stop: () => clearInterval(joinSweep),
  };
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return '';
  }
}
