import type { QueueConfig, QueueSettings, QueueStatus } from '../domain/queue.js';

/**
 * The authoritative queue state. Two implementations — Redis (DragonFly) and in-memory — pass
 * one conformance suite (server/test/integration/store-conformance.test.ts). Every time is
 * the store's own clock (milliseconds), never the calling node's.
 */
export interface QueueStore {
  /** The store's clock, in ms since the epoch. */
  now(): Promise<number>;

  /** Creates the queue; false (and nothing changed) when it already exists. */
  createQueue(config: QueueConfig): Promise<boolean>;
  getQueue(queueId: string): Promise<QueueConfig | null>;
  /** Applies the patch to an existing queue; null when there is none. */
  updateQueue(queueId: string, patch: Partial<QueueSettings>, updatedAt: string): Promise<QueueConfig | null>;
  listQueues(): Promise<string[]>;

  /**
   * Reserves a block of fresh position ids for this node (ids need not be dense; order comes
   * from the store's sequence at enqueue time).
   */
  reservePositionIds(queueId: string): Promise<string[]>;

  /**
   * Adds a waiting position in `lane`, atomically checking the queue's status, method and size.
   * With `holder` (a node number from registerNode) the position is held by that node's open
   * socket instead of by heartbeat deadlines. With `ipLimit` a new position is refused
   * (`ip_limit`) while that address already has `max` positions waiting. `drawKey`
   * (domain/schedule.ts drawKey) places an arrival during a shuffled pre-queue. Passthrough, and
   * queue_only_when_needed with room, admit at once (`admitted`); `reject` refuses a new position.
   */
  enqueue(
    queueId: string,
    positionId: string,
    lane: number,
    holder?: number,
    ipLimit?: IpLimit,
    drawKey?: number,
  ): Promise<EnqueueResult>;
  /**
   * The current event's drawn pre-queue arrivals as `lane:position_id`, in arrival order (the
   * audit list: the order they are admitted in is recomputed from it and the revealed seed).
   */
  drawEntries(queueId: string): Promise<string[]>;
  /**
   * One step of forgetting addresses none of whose positions wait any more (memory only: the
   * limit never counts a position that stopped waiting). `step` is any counter the caller
   * advances; IP_LIMIT_PRUNE_STEPS consecutive steps cover the whole queue. Returns how many
   * addresses were forgotten.
   */
  pruneIpLimits(queueId: string, step: number): Promise<number>;
  /** Where a position stands, without side effects. */
  getPosition(queueId: string, positionId: string): Promise<PositionState>;
  /** As getPosition, and renews the heartbeat deadline of a waiting position. */
  heartbeat(queueId: string, positionId: string): Promise<PositionState>;
  /** Gives up a waiting position; null when it was not waiting. */
  leave(queueId: string, positionId: string): Promise<Departure | null>;

  // Connection = heartbeat: a waiting position held by a node's open socket needs no heartbeats
  // while that node's lease in the queue is renewed; when the socket closes (detach) or the
  // lease lapses, the usual deadline (heartbeat_timeout_seconds) starts: the grace period.

  /** A node number, unique in this store (global counter), for holder markers and leases. */
  registerNode(): Promise<number>;
  /** As getPosition, and a waiting position is now held by node `holder`. */
  attach(queueId: string, positionId: string, holder: number): Promise<PositionState>;
  /**
   * The socket on node `holder` closed: a waiting position still held by that node gets its
   * deadline (now + timeout). One held by another node by now (the visitor reconnected there
   * first) is left alone.
   */
  detach(queueId: string, positionId: string, holder: number): Promise<void>;
  /** The node is alive in this queue until now + ttlMs (store clock). */
  renewNodeLease(queueId: string, holder: number, ttlMs: number): Promise<void>;
  /** The node leaves the queue (draining): the grace of every position it held starts now. */
  releaseNode(queueId: string, holder: number): Promise<void>;
  /** Exact 1-based positions of these ids (null when not waiting), all at one version. */
  ranks(queueId: string, positionIds: string[]): Promise<RankSnapshot>;

  /**
   * One admission step: ends sessions past their expiry, then admits what the token bucket, the
   * 60 s window and max_active_users allow (at most maxBatch), in the order of the method in
   * force (fifo per lane, or the lottery drawn from `lotterySeed`, 1..2^31-2) across the lanes
   * (strict priority, or weighted).
   */
  admit(queueId: string, maxBatch: number, lotterySeed?: number): Promise<AdmitResult>;
  /** One step of the heartbeat sweeper: expires waiting positions past their deadline. */
  sweep(queueId: string): Promise<SweepResult>;

  /** A live session (one round trip: /verify calls it per origin request); null when not active. */
  getSession(queueId: string, positionId: string): Promise<SessionState | null>;
  /**
   * Activity: the session now ends session_duration_seconds from now, unless the queue's
   * session_renewal is off (then `renewed: false` and the expiry stays). Null when not active.
   */
  touchSession(queueId: string, positionId: string): Promise<SessionTouch | null>;
  /** Ends a session at once (revoke / early release); false when it was not active. */
  endSession(queueId: string, positionId: string): Promise<boolean>;

  stats(queueId: string): Promise<QueueCounts>;

  // The dashboard's history: one sample of a queue's counts per bucket of time, kept in the
  // store so every node sees the same past whatever its uptime (docs/DASHBOARD.md).

  /**
   * Records the queue's counts, read at the store's time, as the sample of the current bucket
   * (`bucketMs` long) unless the bucket has one already: N nodes calling it every bucket make one
   * sample. `sockets` is the caller's view of the open sockets (not in the store). Samples older
   * than `retainMs` are dropped. False when the bucket had its sample or the queue does not exist.
   */
  recordHistory(queueId: string, bucketMs: number, retainMs: number, sockets: number): Promise<boolean>;
  /** The samples recorded at or after `sinceMs` (store clock), oldest first. */
  history(queueId: string, sinceMs: number): Promise<HistorySample[]>;
  /** Is the store reachable? (health) */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Facts a status response and its ETA are built from. */
export interface WaitingFacts {
  /** 1-based place in the queue, counting every lane ahead. */
  position: number;
  /**
   * The position's order key: (3 - lane) * 1e12 + seq, or (3 - lane) * 1e12 - 2^39 + draw key
   * for a drawn pre-queue arrival. Lower is ahead.
   */
  score: number;
  /** The queue's wait-set version these facts were read at (see Departure/versions below). */
  version: number;
  queueLength: number;
  admittedInWindow: number;
  oldestAdmissionInWindow: number | null;
  now: number;
  /**
   * From getPosition only: the place's heartbeat deadline (unix seconds), or null while a node's
   * open socket holds it (no deadline then). Absent where a read does not look (the scripts that
   * set a deadline or a holder know it already).
   */
  deadlineSeconds?: number | null;
}

/** Per-IP concurrent positions: `key` is the client's (salted, hashed) address. */
export interface IpLimit {
  key: string;
  /** Most positions of this address waiting at once (>= 1). */
  max: number;
}

export type EnqueueResult =
  | ({ kind: 'queued' } & WaitingFacts)
  | { kind: 'admitted'; sessionExpiresAt: number; now: number }
  | { kind: 'rejected' }
  | { kind: 'ip_limit'; waiting: number }
  | { kind: 'queue_full' }
  | { kind: 'maintenance' }
  | { kind: 'no_queue' };

export type PositionState =
  | ({ state: 'waiting' } & WaitingFacts)
  | { state: 'admitted'; sessionExpiresAt: number; now: number }
  | { state: 'gone' };

/**
 * Versions: every change to a queue's wait set (enqueue, leave, an admission step that admitted
 * someone, a sweep that expired someone) increments the queue's version by exactly one and
 * reports it, so a node that sees every change in version order can keep positions exact.
 */
export interface Departure {
  score: number;
  version: number;
  queueLength: number;
}

export interface RankSnapshot {
  version: number;
  queueLength: number;
  /** Same order as the ids asked for. */
  ranks: (number | null)[];
  now: number;
}

export interface Admission {
  positionId: string;
  /** The wait-set score it had (what a position tracker removes). */
  score: number;
  admittedAt: number;
  sessionExpiresAt: number;
}

export interface AdmitResult {
  now: number;
  /** The version after this step (unchanged when nobody was admitted). */
  version: number;
  queueLength: number;
  /** In admission order (not necessarily from the head: lanes by weight, the lottery). */
  admitted: Admission[];
  /** Position ids whose sessions ended by timeout in this step. */
  endedSessions: string[];
}

export interface SweepResult {
  now: number;
  /** The version after this step (unchanged when nobody expired). */
  version: number;
  queueLength: number;
  expired: { positionId: string; score: number }[];
}

export interface SessionState {
  positionId: string;
  expiresAt: number;
  now: number;
}

export interface SessionTouch extends SessionState {
  /** False when the queue's session_renewal is off: the session still ends at expiresAt. */
  renewed: boolean;
}

export interface QueueCounts {
  waiting: number;
  active: number;
  admittedInWindow: number;
  oldestAdmissionInWindow: number | null;
  totalEnqueued: number;
  totalAdmitted: number;
  totalExpired: number;
  totalCancelled: number;
  totalSessionsEnded: number;
  /** The wait set's version (see Departure). */
  version: number;
  now: number;
}

/** One history sample: the counts of a queue at `at` (store clock, ms). Totals only grow. */
export interface HistorySample {
  at: number;
  waiting: number;
  active: number;
  sockets: number;
  totalEnqueued: number;
  totalAdmitted: number;
  totalExpired: number;
  totalCancelled: number;
  totalSessionsEnded: number;
  admissionRatePerMinute: number;
  status: QueueStatus;
}
