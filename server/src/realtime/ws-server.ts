import { ChallengeRequiredError, type JoinGuard } from '../abuse/join-guard.js';
import type { ChallengeSolution } from '../abuse/challenge.js';
import { AppError } from '../domain/errors.js';
import { isValidQueueId } from '../domain/queue.js';
import type { IpRateLimiter } from '../http/rate-limit.js';
import type { TemplatedApp } from '../http/uws.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { PositionService } from '../services/positions.js';
import { ClientSocket, nowSeconds, type Address, type UserData } from './client-socket.js';
import type { Hub } from './hub.js';
import { CLOSE, MAX_FRAME_BYTES, closeCodeFor, decode, type ClientMessage } from './protocol.js';

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
  const addresses = new Map<string, Address>();
  /** One string per queue id, not one per socket (each upgrade decodes its own copy). */
  const queueIds = new Map<string, string>();
  const internQueueId = (id: string): string => {
    const known = queueIds.get(id);
    if (known !== undefined) return known;
    if (queueIds.size >= 10_000) queueIds.clear(); // ids are validated but unbounded: stay small
    queueIds.set(id, id);
    return id;
  };
  let openSockets = 0;
  /** Sockets that have not sent `join` yet, with when they opened: one sweep, no timer per socket. */
  const awaitingJoin = new Map<ClientSocket, number>();
  const joinSweep = setInterval(() => {
    const cutoff = Date.now() - opts.joinTimeoutMs;
    for (const [socket, openedAt] of awaitingJoin) {
      if (openedAt > cutoff) break; // insertion order = opening order
      awaitingJoin.delete(socket);
      if (!socket.closed && socket.state === 'new') {
        socket.send({ type: 'error', data: { code: 'INVALID_REQUEST', message: 'Send join first' } });
        socket.close(CLOSE.BAD_REQUEST, 'no join');
      }
    }
  }, Math.min(1_000, Math.max(50, opts.joinTimeoutMs / 2)));
  joinSweep.unref();

  function fail(socket: ClientSocket, err: unknown, closeAfter: boolean) {
    const appError = err instanceof AppError ? err : new AppError('INTERNAL_ERROR', 'Internal error');
    if (!(err instanceof AppError)) log.error({ err }, 'socket handler failed');
    socket.send({ type: 'error', data: { code: appError.code, message: appError.message } });
    if (closeAfter) socket.close(closeCodeFor(appError.code), appError.message.slice(0, 120));
  }

  async function join(
    data: ClientSocket,
    ticket: string | undefined,
    grant: string | undefined,
    challengeSolution?: ChallengeSolution,
  ) {
    awaitingJoin.delete(data);
    data.state = 'joining';
    const stopTimer = metrics.wsJoinDuration.startTimer();
    const client = { ipKey: data.address.ipHash, userAgent: data.userAgent };
    try {
      if (!ticket) {
        await opts.joinLimiter.consume(client.ipKey).catch(async (err: unknown) => {
          await opts.guard.refused(client);
          throw err;
        });
      }
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
      data.userAgent = undefined; // only a new place's checks read it
      if (result.view.status === 'admitted') {
        data.send({
          type: 'admitted',
          data: {
            session_id: result.view.session_id,
            session_token: result.view.session_token,
            redirect_url: result.view.redirect_url,
            session_expires_at: result.view.session_expires_at,
          },
        });
        data.close(CLOSE.ADMITTED, 'admitted');
        stopTimer({ outcome: 'admitted' });
        return;
      }
      data.state = 'waiting';
      stopTimer({ outcome: 'joined' });
      if (result.tarpit) {
        // A suspected bot: its place lives in its ticket only; nothing to track or detach.
        data.positionId = '';
        data.send({ type: 'joined', data: { ...result.view, resumed: !result.created } });
        return;
      }
      hub.attach(data.queueId, data, result.view, result.tracking!, !result.created);
    } catch (err) {
      data.state = 'new';
      if (err instanceof ChallengeRequiredError && !data.closed) {
        // The socket stays open for the answer: a `join` with challenge_solution, in time.
        stopTimer({ outcome: 'challenge' });
        data.send({ type: 'challenge', data: { challenge: err.challenge, reason: err.reason } });
        awaitingJoin.set(data, Date.now());
        return;
      }
      stopTimer({ outcome: 'error' });
      fail(data, err, true);
    }
  }

  function onMessage(data: ClientSocket, message: ClientMessage) {
    metrics.socketMessages.inc({ direction: 'in', type: message.type });
    switch (message.type) {
      case 'join':
        if (data.state !== 'new') throw new AppError('INVALID_REQUEST', 'Already joined on this connection');
        void join(data, message.data?.token, message.data?.priority_grant, message.data?.challenge_solution);
        return;
      case 'heartbeat':
        // The open socket is the heartbeat; accepted for clients that send one anyway.
        return;
      case 'leave':
        if (data.state === 'waiting' && !data.positionId) {
          // A tarpitted bot leaves as a visitor would; there is nothing to remove.
          data.send({ type: 'expired', data: { reason: 'left' } });
          return data.close(CLOSE.NORMAL, 'left');
        }
        if (data.state !== 'waiting' || !data.positionId) {
          throw new AppError('INVALID_REQUEST', 'Not waiting in a queue on this connection');
        }
        hub.leave(data.queueId, data).catch((err: unknown) => fail(data, err, false));
        return;
    }
  }

  app.ws<UserData>('/ws/queues/:queue_id', {
    compression: 0,
    maxPayloadLength: MAX_FRAME_BYTES,
    idleTimeout: opts.idleTimeoutSeconds,
    sendPingsAutomatically: true,
    maxBackpressure: opts.maxBackpressureBytes * 2,
    closeOnBackpressureLimit: 0,

    upgrade(res, req, context) {
      const requestedQueue = decodeURIComponentSafe(req.getParameter(0) ?? '');
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      const authorization = req.getHeader('authorization');
      const userAgent = req.getHeader('user-agent') || undefined;
      const ipHash = opts.ipKey(Buffer.from(res.getRemoteAddressAsText()).toString(), req.getHeader('x-forwarded-for') || undefined);
      const refuse = (status: string, code: string, message: string) => {
        res.writeStatus(status).writeHeader('content-type', 'application/json').end(JSON.stringify({ error: { code, message } }));
      };
      if (!isValidQueueId(requestedQueue)) return refuse('400 Bad Request', 'INVALID_REQUEST', 'Invalid queue id');
      const queueId = internQueueId(requestedQueue);
      const address = addresses.get(ipHash);
      if (address && address.sockets >= opts.maxSocketsPerIp) {
        metrics.rateLimited.inc({ limit: 'sockets' });
        return refuse('429 Too Many Requests', 'RATE_LIMITED', 'Too many open connections from this address');
      }
      const bearer = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
      const client = new ClientSocket(queueId, address ?? { ipHash, sockets: 0 }, bearer, userAgent, opts.maxBackpressureBytes);
      res.upgrade<UserData>({ client }, key, protocol, extensions, context);
    },

    open(ws) {
      const data = ws.getUserData().client;
      data.ws = ws;
      openSockets++;
      // Counted at open, not at upgrade: a refused or aborted upgrade never reaches close(). Two
      // upgrades from a new address may race to here with records of their own: keep one.
      const address = addresses.get(data.address.ipHash) ?? data.address;
      if (address.sockets++ === 0) addresses.set(address.ipHash, address);
      data.address = address;
      metrics.socketsConnected.inc();
      if (data.upgradeTicket) {
        const ticket = data.upgradeTicket;
        data.upgradeTicket = undefined; // nothing per socket is kept longer than it is needed
        void join(data, ticket, undefined);
      } else {
        awaitingJoin.set(data, Date.now());
      }
    },

    message(ws, frame) {
      const data = ws.getUserData().client;
      const now = nowSeconds();
      if (now - data.windowStart >= 10) {
        data.windowStart = now;
        data.framesInWindow = 0;
      }
      if (++data.framesInWindow > FRAMES_PER_10S) {
        metrics.rateLimited.inc({ limit: 'frames' });
        return fail(data, new AppError('RATE_LIMITED', 'Too many messages'), true);
      }
      const message = decode(frame);
      if (typeof message === 'string') {
        data.badFrames++;
        return fail(data, new AppError('INVALID_REQUEST', message), data.badFrames >= MAX_BAD_FRAMES);
      }
      try {
        onMessage(data, message);
      } catch (err) {
        fail(data, err, false);
      }
    },

    close(ws, code) {
      const data = ws.getUserData().client;
      const wasWaiting = data.state === 'waiting';
      data.closed = true;
      data.ws = undefined;
      openSockets--;
      awaitingJoin.delete(data);
      if (--data.address.sockets === 0) addresses.delete(data.address.ipHash);
      metrics.socketsConnected.dec();
      metrics.socketCloses.inc({ code: String(code) });
      if (wasWaiting && data.positionId) {
        hub.detach(data.queueId, data).catch((err: unknown) => log.warn({ err }, 'detach failed'));
      }
    },
  });

  return {
    openSockets: () => openSockets,
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
