import type { JoinClient } from '../abuse/bot-classifier.js';
import type { ChallengeSolution } from '../abuse/challenge.js';
import type { JoinGuard } from '../abuse/join-guard.js';
import { newTarpitPlace, tarpitView } from '../abuse/tarpit.js';
import { estimateWaitSeconds, measuredRatePerMinute } from '../domain/admission.js';
import { AppError, forbidden } from '../domain/errors.js';
import { MAX_LANE, sessionIdOf, type QueueConfig } from '../domain/queue.js';
import { drawKey, effectiveMode, shownPlace } from '../domain/schedule.js';
import type { Publish } from '../events/publisher.js';
import type { Metrics } from '../observability/metrics.js';
import type { PositionState, QueueStore, WaitingFacts } from '../store/types.js';
import type { TokenService } from '../tokens/tokens.js';
import type { AdmittedStatus } from '../../../client-sdk/src/protocol.js';
import { createPositionIdPool } from './position-ids.js';
import type { QueueDirectory } from './queues.js';
import { waitingViewOf, type WaitingView } from './waiting-view.js';

/** The wire views (DESIGN §4, one definition for server and clients): REST responses and the socket's `joined`. */
export type { WaitingView };
export type AdmittedView = AdmittedStatus;
export type PositionView = WaitingView | AdmittedView;

export interface LeaveResult {
  position_id: string;
  queue_id: string;
  status: 'cancelled';
}

export interface JoinRequest {
  queueId: string;
  /** Requested lane (0..3); anything above 0 must be proven. */
  priority: number;
  /** A ticket the caller already holds for this queue, if any. */
  ticket?: string;
  isAdmin: boolean;
  priorityGrant?: string;
  metadata?: Record<string, unknown>;
  /** A node number: the place is held by this node's open socket (connection = heartbeat). */
  holder?: number;
  /** Who asks (for the abuse checks of a new place; none without it). */
  client?: JoinClient;
  challengeSolution?: ChallengeSolution;
}

/** What the broadcaster needs to keep a waiting visitor's position exact. */
export interface Tracking {
  score: number;
  version: number;
  position: number;
}

export interface JoinResult {
  created: boolean;
  view: PositionView;
  tracking?: Tracking;
  /** A suspected bot's made-up place (abuse/tarpit.ts): nothing to track, nothing in the store. */
  tarpit?: true;
}

export interface PositionServiceDeps {
  store: QueueStore;
  queues: QueueDirectory;
  tokens: TokenService;
  publish: Publish;
  metrics: Metrics;
  /** A presented ticket with more life than this left is handed back instead of re-signed. */
  ticketReuseMinRemainingMs: number;
  /** Abuse checks of new places (per-IP limit, challenge, bot tarpit); none without it. */
  guard?: JoinGuard;
  clock?: () => number;
}

interface HeldTicket {
  token: string;
  expiresAt: number;
}

const trackingOf = (facts: WaitingFacts): Tracking => ({
  score: facts.score,
  version: facts.version,
  position: facts.position,
});

/** Joining, looking up, keeping and leaving a place in a queue. */
export function createPositionService(deps: PositionServiceDeps) {
  const { store, queues, tokens, publish, metrics } = deps;
  const clock = deps.clock ?? Date.now;
  const nextPositionId = createPositionIdPool(store);

  /** Signing is the dearest part of a status call: a ticket with ample life left is reused. */
  async function ticketFor(queueId: string, positionId: string, held?: HeldTicket): Promise<HeldTicket> {
    if (held && held.expiresAt - clock() > deps.ticketReuseMinRemainingMs) return held;
    return tokens.signTicket(queueId, positionId);
  }

  async function waitingView(
    queue: QueueConfig,
    positionId: string,
    facts: WaitingFacts,
    held?: HeldTicket,
  ): Promise<WaitingView> {
    const ticket = await ticketFor(queue.id, positionId, held);
    const rate = measuredRatePerMinute(
      facts.admittedInWindow,
      facts.oldestAdmissionInWindow,
      facts.now,
      effectiveMode(queue, facts.now).ratePerMinute, // a live event's own rate
    );
    const shown = shownPlace(queue, facts.now, facts.position, facts.queueLength);
    const eta = shown.waitUntilStartSeconds + estimateWaitSeconds(shown.position, rate);
    // The deadline the place really has where the read saw it (a status read renews nothing);
    // otherwise the step just set it, or a socket holds the place: the grace from now. Deadlines
    // are kept in whole seconds, so this one is too.
    const deadlineSeconds =
      typeof facts.deadlineSeconds === 'number' ? facts.deadlineSeconds : Math.floor(facts.now / 1000) + queue.heartbeat_timeout_seconds;
    const placeExpiresAt = deadlineSeconds * 1000;
    return waitingViewOf(
      queue,
      positionId,
      { position: shown.position, queueLength: facts.queueLength, estimatedWaitSeconds: eta },
      ticket,
      placeExpiresAt,
    );
  }

  async function admittedView(queue: QueueConfig, positionId: string, sessionExpiresAt: number): Promise<AdmittedView> {
    const sessionId = sessionIdOf(queue.id, positionId);
    return {
      position_id: positionId,
      queue_id: queue.id,
      status: 'admitted',
      admitted: true,
      session_id: sessionId,
      session_token: await tokens.signSession({ queueId: queue.id, positionId, sessionId, expiresAt: sessionExpiresAt }),
      redirect_url: queue.target_url,
      session_expires_at: new Date(sessionExpiresAt).toISOString(),
    };
  }

  async function viewOf(
    queue: QueueConfig,
    positionId: string,
    state: PositionState,
    held?: HeldTicket,
  ): Promise<PositionView> {
    if (state.state === 'waiting') return waitingView(queue, positionId, state, held);
    if (state.state === 'admitted') return admittedView(queue, positionId, state.sessionExpiresAt);
    throw new AppError(
      'POSITION_EXPIRED',
      'This position is no longer in the queue (it expired, was cancelled, or its session ended); join again',
    );
  }

  async function laneFor(req: JoinRequest): Promise<number> {
    if (!Number.isInteger(req.priority) || req.priority < 0 || req.priority > MAX_LANE) {
      throw new AppError('INVALID_REQUEST', `priority must be an integer from 0 to ${MAX_LANE}`);
    }
    if (req.priorityGrant) {
      const grant = await tokens.verifyGrant(req.priorityGrant, req.queueId);
      if (req.priority > grant.lane) throw forbidden(`The priority grant allows at most priority ${grant.lane}`);
      return req.priority || grant.lane;
    }
    if (req.priority > 0 && !req.isAdmin) {
      throw forbidden('priority above 0 needs proof: the admin key or a signed priority grant');
    }
    return req.priority;
  }

  async function verifyHeld(queueId: string, token: string) {
    const { positionId, expiresAt, tarpit } = await tokens.verifyTicket(token, queueId);
    return { positionId, held: { token, expiresAt }, tarpit };
  }

  async function leavePosition(queueId: string, positionId: string): Promise<LeaveResult> {
    const departure = await store.leave(queueId, positionId);
    if (!departure) {
      throw new AppError('POSITION_EXPIRED', 'This position is not waiting any more (admitted, expired or cancelled)');
    }
    // One event: who left, and the change of the wait set the position trackers apply.
    publish('position.cancelled', queueId, {
      position_id: positionId,
      version: departure.version,
      queue_length: departure.queueLength,
      removed: [departure.score],
    });
    return { position_id: positionId, queue_id: queueId, status: 'cancelled' };
  }

  return {
    /** A new place, or the caller's existing one (`created: false`) when their ticket still holds one. */
    async join(req: JoinRequest): Promise<JoinResult> {
      const queue = await queues.resolve(req.queueId);
      if (req.ticket) {
        const { positionId, held, tarpit } = await verifyHeld(queue.id, req.ticket);
        if (tarpit) return { created: false, view: await tarpitView(tokens, queue, positionId, tarpit, clock()), tarpit: true };
        const state =
          req.holder === undefined
            ? await store.getPosition(queue.id, positionId)
            : await store.attach(queue.id, positionId, req.holder);
        if (state.state !== 'gone') {
          return {
            created: false,
            view: await viewOf(queue, positionId, state, held),
            ...(state.state === 'waiting' ? { tracking: trackingOf(state) } : {}),
          };
        }
      }
      const lane = await laneFor(req);
      const { guard } = deps;
      // The admin key is trusted: its joins (operators' tools) meet no abuse checks.
      const client = req.isAdmin ? undefined : req.client;
      if (guard && client && (await guard.screen(queue.id, client, req.challengeSolution))) {
        const place = newTarpitPlace(clock());
        return { created: true, view: await tarpitView(tokens, queue, place.positionId, place.claims, clock()), tarpit: true };
      }
      const positionId = await nextPositionId(queue.id);
      const ipLimit = client && guard?.ipLimit(client);
      // Only used by the store while a shuffled pre-queue is open (its clock decides).
      const key = queue.event?.shuffle_prequeue ? drawKey(queue.event.seed, positionId) : undefined;
      const result = await store.enqueue(queue.id, positionId, lane, req.holder, ipLimit, key);
      switch (result.kind) {
        case 'ip_limit':
          throw await (guard as JoinGuard).positionsLimited(queue.id, client as JoinClient, result.waiting);
        case 'rejected':
          metrics.rejectedJoins.inc({ queue_id: queue.id, reason: 'closed' });
          throw new AppError('QUEUE_CLOSED', 'This queue is closed to new visitors (sold out or not open)', {
            queue_id: queue.id,
          });
        case 'admitted': {
          // Passthrough, or nobody waiting and room to spare: straight to the site.
          metrics.joins.inc({ queue_id: queue.id });
          metrics.admissions.inc({ queue_id: queue.id });
          const data = {
            position_id: positionId,
            session_id: sessionIdOf(queue.id, positionId),
            session_expires_at: result.sessionExpiresAt,
          };
          publish('position.admitted', queue.id, data, result.now);
          publish('session.started', queue.id, data, result.now);
          return { created: true, view: await admittedView(queue, positionId, result.sessionExpiresAt) };
        }
        case 'queue_full':
          metrics.rejectedJoins.inc({ queue_id: queue.id, reason: 'queue_full' });
          throw new AppError('QUEUE_FULL', 'The queue is full; try again later', { queue_id: queue.id });
        case 'maintenance':
          metrics.rejectedJoins.inc({ queue_id: queue.id, reason: 'maintenance' });
          throw new AppError('MAINTENANCE_MODE', 'The queue is in maintenance; try again later', { queue_id: queue.id });
        case 'no_queue':
          throw new AppError('NOT_FOUND', `Queue ${queue.id} does not exist`);
      }
      metrics.joins.inc({ queue_id: queue.id });
      // One event per join (the join path's dearest part after the store): who joined, and the
      // change of the wait set the position trackers apply.
      publish(
        'position.enqueued',
        queue.id,
        {
          position_id: positionId,
          lane,
          position: result.position,
          metadata: req.metadata ?? {},
          version: result.version,
          queue_length: result.queueLength,
          added: result.score,
        },
        result.now,
      );
      return { created: true, view: await waitingView(queue, positionId, result), tracking: trackingOf(result) };
    },

    async status(queueId: string, ticket: string): Promise<PositionView> {
      const queue = await queues.resolve(queueId);
      const { positionId, held, tarpit } = await verifyHeld(queue.id, ticket);
      if (tarpit) return tarpitView(tokens, queue, positionId, tarpit, clock());
      return viewOf(queue, positionId, await store.getPosition(queue.id, positionId), held);
    },

    async heartbeat(queueId: string, ticket: string): Promise<PositionView> {
      const queue = await queues.resolve(queueId);
      const { positionId, held, tarpit } = await verifyHeld(queue.id, ticket);
      metrics.heartbeatsReceived.inc();
      if (tarpit) return tarpitView(tokens, queue, positionId, tarpit, clock());
      const state = await store.heartbeat(queue.id, positionId);
      return viewOf(queue, positionId, state, held);
    },

    async leave(queueId: string, ticket: string): Promise<LeaveResult> {
      const queue = await queues.resolve(queueId);
      const { positionId, tarpit } = await verifyHeld(queue.id, ticket);
      // A bot leaving the tarpit is told what a visitor is told; there is nothing to remove.
      if (tarpit) return { position_id: positionId, queue_id: queue.id, status: 'cancelled' };
      return leavePosition(queue.id, positionId);
    },

    /** For a caller that already proved the place is theirs (the socket that joined with it). */
    leavePosition,
  };
}

export type PositionService = ReturnType<typeof createPositionService>;
