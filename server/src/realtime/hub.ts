import { setImmediate } from 'node:timers/promises';
import { estimateWaitSeconds, measuredRatePerMinute } from '../domain/admission.js';
import { AppError } from '../domain/errors.js';
import { sessionIdOf, type QueueConfig } from '../domain/queue.js';
import { effectiveMode, hiddenPlaceWaitSeconds } from '../domain/schedule.js';
import type { EventBus, WaitingRoomEvent } from '../events/types.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { PositionService, Tracking, WaitingView } from '../services/positions.js';
import type { QueueDirectory } from '../services/queues.js';
import type { QueueStore } from '../store/types.js';
import type { TokenService } from '../tokens/tokens.js';
import { PositionTracker, type Member, type Progress } from './position-tracker.js';
import { CLOSE, type ServerMessage } from './protocol.js';

/**
 * The change of a queue's wait set an event carries: `queue.progress` (admissions, sweeps) and,
 * so that a join or a leave is one event, `position.enqueued` and `position.cancelled`.
 */
function progressOf(d: Record<string, unknown>): Progress {
  return {
    version: Number(d.version),
    queueLength: Number(d.queue_length),
    ...(d.admitted !== undefined ? { admitted: Number(d.admitted) } : {}),
    ...(Array.isArray(d.removed) ? { removed: d.removed.map(Number) } : {}),
    ...(d.added !== undefined ? { added: Number(d.added) } : {}),
  };
}

/** Visitors of a room handled per turn of the event loop in a tick's fan-out. */
const FANOUT_SLICE = 1_000;

/**
 * A visitor's position and ETA are pushed the tick they change; a change of the queue length
 * behind them alone only every this many ticks. In a join storm the length grows every tick, and
 * pushing it to every waiting socket every tick would cost the server and every client a frame
 * per second for a number of little consequence to them. Each visitor has its own phase (its
 * arrival score modulo this), so a fifth of a room is due on every tick instead of all of it on
 * every fifth: the same frames, without a burst that delays joins and admission pushes.
 */
const QUEUE_LENGTH_TICKS = 5;
const lengthPhaseOf = (score: number) => ((score % QUEUE_LENGTH_TICKS) + QUEUE_LENGTH_TICKS) % QUEUE_LENGTH_TICKS;

/**
 * A local visitor, as the hub needs it: a socket it can send through and close, carrying the
 * position tracker's numbers and what was last pushed. The uWS adapter's socket object is the
 * visitor itself (client-socket.ts): one object per socket, no second record pointing at it.
 */
export interface Visitor extends Member {
  send(message: ServerMessage): void;
  close(code: number, reason: string): void;
  positionId: string;
  /** What the last `position_update` (or `joined`) said: only changes are sent. */
  sentPosition: number;
  sentQueueLength: number;
  sentEta: number;
  /** Seconds since the epoch: a small integer, so it needs no boxed number per visitor. */
  ticketExpiresAtS: number;
}

interface QueueRoom {
  queueId: string;
  /** The local visitors by position id, with their exact positions. */
  tracker: PositionTracker<Visitor>;
  ratePerMinute: number;
  heartbeatIntervalSeconds: number;
  queue: QueueConfig | null;
  /** Ticks so far: picks the visitors whose change of the queue length alone is due (lengthPhaseOf). */
  ticks: number;
}

export interface HubOptions {
  store: QueueStore;
  positions: PositionService;
  queues: QueueDirectory;
  tokens: TokenService;
  bus: EventBus;
  metrics: Metrics;
  log: Logger;
  /** This node's number in the store (holder markers, leases). */
  nodeNumber: number;
  tickMs: number;
  leaseTtlMs: number;
  /** A gap in the change feed older than this is closed with a snapshot from the store. */
  gapGraceMs: number;
  /** Tickets with less life than this left are refreshed over the socket. */
  ticketRefreshBelowMs: number;
  clock?: () => number;
}

/**
 * The broadcaster: the one place that sees both the event feed and the sockets. It keeps each
 * local visitor's position exact from `queue.progress` events (no store call per visitor), pushes
 * `admitted` to the node holding the visitor's socket, renews this node's lease in every queue
 * it holds sockets for, and once a tick sends every changed position.
 */
export function createHub(opts: HubOptions) {
  const { store, tokens, metrics, log } = opts;
  const clock = opts.clock ?? Date.now;
  const rooms = new Map<string, QueueRoom>();
  let draining = false;

  const roomOf = (queueId: string): QueueRoom => {
    let room = rooms.get(queueId);
    if (!room) {
      room = { queueId, tracker: new PositionTracker<Visitor>(), ratePerMinute: 0, ticks: 0, heartbeatIntervalSeconds: 30, queue: null };
      rooms.set(queueId, room);
    }
    return room;
  };

  const send = (visitor: Visitor, message: ServerMessage) => {
    visitor.send(message);
    metrics.socketMessages.inc({ direction: 'out', type: message.type });
  };

  function forget(room: QueueRoom, positionId: string) {
    room.tracker.remove(positionId);
  }

  async function pushAdmitted(room: QueueRoom, visitor: Visitor, sessionExpiresAt: number) {
    forget(room, visitor.positionId);
    const queue = await opts.queues.get(room.queueId);
    const sessionId = sessionIdOf(room.queueId, visitor.positionId);
    const sessionToken = await tokens.signSession({
      queueId: room.queueId,
      positionId: visitor.positionId,
      sessionId,
      expiresAt: sessionExpiresAt,
    });
    send(visitor, {
      type: 'admitted',
      data: {
        session_id: sessionId,
        session_token: sessionToken,
        redirect_url: queue?.target_url ?? '',
        session_expires_at: new Date(sessionExpiresAt).toISOString(),
      },
    });
    visitor.close(CLOSE.ADMITTED, 'admitted');
  }

  function pushGone(room: QueueRoom, visitor: Visitor, reason: 'heartbeat_timeout' | 'left' | 'removed') {
    forget(room, visitor.positionId);
    send(visitor, { type: 'expired', data: { reason } });
    visitor.close(reason === 'left' ? CLOSE.NORMAL : CLOSE.EXPIRED, reason);
  }

  function onEvent(event: WaitingRoomEvent) {
    const room = rooms.get(event.queue_id);
    if (!room) return;
    const d = event.data;
    switch (event.type) {
      case 'queue.progress':
      case 'position.enqueued':
        room.tracker.receive(progressOf(d));
        return;
      case 'position.admitted': {
        const visitor = room.tracker.get(String(d.position_id));
        if (visitor) {
          pushAdmitted(room, visitor, Number(d.session_expires_at)).catch((err: unknown) =>
            log.error({ err }, 'admitted push failed'),
          );
        }
        return;
      }
      case 'position.expired':
      case 'position.cancelled': {
        if (event.type === 'position.cancelled') room.tracker.receive(progressOf(d));
        const visitor = room.tracker.get(String(d.position_id));
        if (visitor) pushGone(room, visitor, event.type === 'position.expired' ? 'heartbeat_timeout' : 'left');
        return;
      }
      default:
        return;
    }
  }
  const unsubscribe = opts.bus.subscribe(onEvent);

  /** A gap in the feed stayed open: exact ranks from the store, then admitted/gone for the missing. */
  async function snapshot(room: QueueRoom) {
    const ids = room.tracker.memberIds();
    const snap = await store.ranks(room.queueId, ids);
    metrics.positionSnapshots.inc();
    const ranks = new Map(ids.map((id, i) => [id, snap.ranks[i] ?? null]));
    const { missing } = room.tracker.applySnapshot({ version: snap.version, queueLength: snap.queueLength, ranks }, clock());
    for (const visitor of missing) {
      const state = await store.getPosition(room.queueId, visitor.positionId);
      if (state.state === 'admitted') await pushAdmitted(room, visitor, state.sessionExpiresAt);
      else if (state.state === 'gone') pushGone(room, visitor, 'removed');
    }
  }

  async function tickRoom(room: QueueRoom) {
    if (room.tracker.size === 0) {
      rooms.delete(room.queueId);
      await store.releaseNode(room.queueId, opts.nodeNumber);
      return;
    }
    const [counts, queue] = await Promise.all([
      store.stats(room.queueId),
      opts.queues.get(room.queueId),
      store.renewNodeLease(room.queueId, opts.nodeNumber, opts.leaseTtlMs),
    ]);
    if (queue) room.heartbeatIntervalSeconds = queue.heartbeat_interval_seconds;
    room.queue = queue;
    room.ratePerMinute = measuredRatePerMinute(
      counts.admittedInWindow,
      counts.oldestAdmissionInWindow,
      counts.now,
      queue ? effectiveMode(queue, counts.now).ratePerMinute : 1,
    );
    room.tracker.observeVersion(counts.version);
    room.tracker.advance(clock());
    if (room.tracker.wantsSnapshot(clock(), opts.gapGraceMs)) await snapshot(room);

    const now = clock();
    const queueLengthNow = room.tracker.queueLength;
    // A shuffled pre-queue shows no place (shownPlace): everyone is shown last, and the wait
    // includes the time until the start. The store's clock drives the phase.
    const hiddenWait = room.queue ? hiddenPlaceWaitSeconds(room.queue, counts.now) : null;
    const lengthPhase = room.ticks++ % QUEUE_LENGTH_TICKS;
    let updates = 0;
    let visited = 0;
    for (const visitor of room.tracker.all()) {
      // Let other work (admission pushes above all) in between slices of a large room.
      if (++visited % FANOUT_SLICE === 0) await setImmediate();
      const exact = visitor.position;
      if (exact < 1) continue;
      const position = hiddenWait === null ? exact : Math.max(exact, queueLengthNow);
      const eta = (hiddenWait ?? 0) + estimateWaitSeconds(position, room.ratePerMinute);
      const queueLength = Math.max(queueLengthNow, position);
      if (
        position !== visitor.sentPosition ||
        eta !== visitor.sentEta ||
        (queueLength !== visitor.sentQueueLength && lengthPhaseOf(visitor.score) === lengthPhase)
      ) {
        visitor.sentPosition = position;
        visitor.sentQueueLength = queueLength;
        visitor.sentEta = eta;
        visitor.send({ type: 'position_update', data: { position, queue_length: queueLength, estimated_wait_seconds: eta } });
        updates++;
      }
      if (visitor.ticketExpiresAtS * 1000 - now < opts.ticketRefreshBelowMs) {
        const ticket = await tokens.signTicket(room.queueId, visitor.positionId);
        visitor.ticketExpiresAtS = Math.floor(ticket.expiresAt / 1000);
        send(visitor, { type: 'token_refresh', data: { token: ticket.token, expires_at: new Date(ticket.expiresAt).toISOString() } });
      }
    }
    // One counter update per tick, not one label lookup per message.
    if (updates > 0) metrics.socketMessages.inc({ direction: 'out', type: 'position_update' }, updates);
  }

  let ticking = false;
  const timer = setInterval(() => {
    if (ticking || draining) return;
    ticking = true;
    Promise.allSettled([...rooms.values()].map((room) => tickRoom(room)))
      .then((results) => {
        for (const r of results) if (r.status === 'rejected') log.warn({ err: r.reason }, 'broadcast tick failed');
      })
      .finally(() => {
        ticking = false;
      });
  }, opts.tickMs);

  return {
    /**
     * A socket joined or resumed: `view` is what the join returned. Another socket of this
     * node holding the same place is replaced (one place per visitor, the newest socket wins).
     */
    attach(queueId: string, visitor: Visitor, view: WaitingView, tracking: Tracking, resumed: boolean) {
      const room = roomOf(queueId);
      const previous = room.tracker.get(view.position_id);
      if (previous && previous !== visitor) previous.close(CLOSE.REPLACED, 'the place was taken over by another connection');
      visitor.positionId = view.position_id;
      visitor.score = tracking.score;
      visitor.position = tracking.position;
      visitor.version = tracking.version;
      visitor.sentPosition = view.position;
      visitor.sentQueueLength = view.queue_length;
      visitor.sentEta = view.estimated_wait_seconds;
      visitor.ticketExpiresAtS = Math.floor(Date.parse(view.token_expires_at) / 1000);
      room.tracker.add(view.position_id, visitor);
      send(visitor, { type: 'joined', data: { ...view, resumed } });
      if (room.tracker.size === 1) {
        store.renewNodeLease(queueId, opts.nodeNumber, opts.leaseTtlMs).catch((err: unknown) => log.warn({ err }, 'lease renewal failed'));
      }
    },

    /** The socket closed while its place was still waiting here: its grace period starts. */
    async detach(queueId: string, visitor: Visitor) {
      const room = rooms.get(queueId);
      const { positionId } = visitor;
      if (!room || room.tracker.get(positionId) !== visitor) return;
      forget(room, positionId);
      if (!draining) await store.detach(queueId, positionId, opts.nodeNumber);
    },

    /** The socket closed before its join finished: the place it got starts its grace period. */
    async abandon(queueId: string, positionId: string) {
      await store.detach(queueId, positionId, opts.nodeNumber);
    },

    /** The visitor asked to leave over the socket. */
    async leave(queueId: string, visitor: Visitor) {
      const room = rooms.get(queueId);
      const { positionId } = visitor;
      if (!room || room.tracker.get(positionId) !== visitor) throw new AppError('INVALID_REQUEST', 'Not joined');
      await opts.positions.leavePosition(queueId, positionId);
      pushGone(room, visitor, 'left');
    },

    /** Open sockets per queue on this node (the dashboard adds up every node's). */
    socketsByQueue(): Map<string, number> {
      return new Map([...rooms.values()].map((room) => [room.queueId, room.tracker.size]));
    },

    socketCount(): number {
      let n = 0;
      for (const room of rooms.values()) n += room.tracker.size;
      return n;
    },

    /**
     * Draining: every socket is told to reconnect elsewhere (transient close) and this node's
     * leases are released, so each place's grace period starts now and another node takes over.
     */
    async drain() {
      draining = true;
      clearInterval(timer);
      unsubscribe();
      for (const room of rooms.values()) {
        for (const visitor of room.tracker.all()) visitor.close(CLOSE.GOING_AWAY, 'node draining');
        await store.releaseNode(room.queueId, opts.nodeNumber).catch(() => undefined);
      }
      rooms.clear();
    },
  };
}

export type Hub = ReturnType<typeof createHub>;

