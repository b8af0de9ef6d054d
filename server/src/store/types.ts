import type { QueueConfig, QueueSettings } from '../domain/queue.js';

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

  /** Adds a waiting position in `lane`, atomically checking the queue's status and size. */
  enqueue(queueId: string, positionId: string, lane: number): Promise<EnqueueResult>;
  /** Where a position stands, without side effects. */
  getPosition(queueId: string, positionId: string): Promise<PositionState>;
  /** As getPosition, and renews the heartbeat deadline of a waiting position. */
  heartbeat(queueId: string, positionId: string): Promise<PositionState>;
  /** Gives up a waiting position; false when it was not waiting. */
  leave(queueId: string, positionId: string): Promise<boolean>;

  /**
   * One admission step: ends sessions past their expiry, then admits from the head of the
   * queue what the token bucket, the 60 s window and max_active_users allow (at most maxBatch).
   */
  admit(queueId: string, maxBatch: number): Promise<AdmitResult>;
  /** One step of the heartbeat sweeper: expires waiting positions past their deadline. */
  sweep(queueId: string): Promise<SweepResult>;

  getSession(queueId: string, positionId: string): Promise<SessionState | null>;
  /** Activity: the session now ends session_duration_seconds from now. Null when not active. */
  touchSession(queueId: string, positionId: string): Promise<SessionState | null>;
  /** Ends a session at once (revoke / early release); false when it was not active. */
  endSession(queueId: string, positionId: string): Promise<boolean>;

  stats(queueId: string): Promise<QueueCounts>;
  /** Is the store reachable? (health) */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Facts a status response and its ETA are built from. */
export interface WaitingFacts {
  /** 1-based place in the queue, counting every lane ahead. */
  position: number;
  queueLength: number;
  admittedInWindow: number;
  oldestAdmissionInWindow: number | null;
  now: number;
}

export type EnqueueResult =
  | ({ kind: 'queued' } & WaitingFacts)
  | { kind: 'queue_full' }
  | { kind: 'maintenance' }
  | { kind: 'no_queue' };

export type PositionState =
  | ({ state: 'waiting' } & WaitingFacts)
  | { state: 'admitted'; sessionExpiresAt: number; now: number }
  | { state: 'gone' };

export interface Admission {
  positionId: string;
  admittedAt: number;
  sessionExpiresAt: number;
}

export interface AdmitResult {
  now: number;
  admitted: Admission[];
  /** Position ids whose sessions ended by timeout in this step. */
  endedSessions: string[];
}

export interface SweepResult {
  now: number;
  expired: string[];
}

export interface SessionState {
  positionId: string;
  expiresAt: number;
  now: number;
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
  now: number;
}
