import { QUEUE_STATUSES, sessionIdOf } from '../domain/queue.js';
import type { Publish } from '../events/publisher.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { QueueStore } from '../store/types.js';

export interface AdmissionLoopOptions {
  store: QueueStore;
  publish: Publish;
  metrics: Metrics;
  log: Logger;
  tickMs: number;
  sweepIntervalMs: number;
  /** Most admissions one script call makes (the bucket usually allows far fewer). */
  maxBatch?: number;
  /** Forget, step by step with the sweep, addresses with no position waiting (MAX_POSITIONS_PER_IP). */
  pruneIpLimits?: boolean;
}

const QUEUE_LIST_REFRESH_MS = 2_000;
const GAUGE_REFRESH_MS = 1_000;

/**
 * Runs on every node. Each tick, one atomic store script per queue admits what the rate and
 * capacity allow — N nodes ticking never over-admit, so no leader is needed. The sweeper
 * expires REST visitors whose heartbeats stopped; the gauges are refreshed from the store.
 */
export function startAdmissionLoop(opts: AdmissionLoopOptions) {
  const { store, publish, metrics, log } = opts;
  const maxBatch = opts.maxBatch ?? 1_000;
  let queueIds: string[] = [];
  let stopped = false;
  const running = new Set<Promise<unknown>>();

  const guarded = (name: string, fn: () => Promise<void>) => {
    let busy = false;
    return () => {
      if (busy || stopped) return;
      busy = true;
      const p = fn()
        .catch((err: unknown) => {
          metrics.backgroundFailures.inc({ task: name });
          log.warn({ err, task: name }, 'background task failed');
        })
        .finally(() => {
          busy = false;
          running.delete(p);
        });
      running.add(p);
    };
  };

  async function admitAll() {
    await Promise.all(
      queueIds.map(async (queueId) => {
        const started = performance.now();
        const result = await store.admit(queueId, maxBatch);
        metrics.storeLatency.observe({ operation: 'admit' }, (performance.now() - started) / 1000);
        for (const a of result.admitted) {
          const sessionId = sessionIdOf(queueId, a.positionId);
          const data = { position_id: a.positionId, session_id: sessionId, session_expires_at: a.sessionExpiresAt };
          publish('position.admitted', queueId, data, a.admittedAt);
          publish('session.started', queueId, data, a.admittedAt);
        }
        if (result.admitted.length > 0) {
          metrics.admissions.inc({ queue_id: queueId }, result.admitted.length);
          // By score, not a count from the head: weighted lanes and the lottery admit from
          // anywhere in the queue, and each tracker removes exactly those ahead of its visitors.
          publish(
            'queue.progress',
            queueId,
            { version: result.version, queue_length: result.queueLength, removed: result.admitted.map((a) => a.score) },
            result.now,
          );
        }
        for (const positionId of result.endedSessions) {
          publish('session.expired', queueId, { session_id: sessionIdOf(queueId, positionId), position_id: positionId }, result.now);
        }
        if (result.endedSessions.length > 0) {
          metrics.sessionsEnded.inc({ queue_id: queueId, reason: 'expired' }, result.endedSessions.length);
        }
      }),
    );
  }

  let pruneStep = 0;

  async function sweepAll() {
    if (opts.pruneIpLimits) {
      // Each node starts at a random step, so several nodes share the cycle instead of repeating it.
      pruneStep ||= Math.floor(Math.random() * 1e6);
      pruneStep++;
      for (const queueId of queueIds) await store.pruneIpLimits(queueId, pruneStep);
    }
    for (const queueId of queueIds) {
      const stopTimer = metrics.cleanupDuration.startTimer();
      const result = await store.sweep(queueId);
      stopTimer();
      if (result.expired.length === 0) continue;
      publish(
        'queue.progress',
        queueId,
        { version: result.version, queue_length: result.queueLength, removed: result.expired.map((e) => e.score) },
        result.now,
      );
      for (const { positionId } of result.expired) {
        publish('position.expired', queueId, { position_id: positionId, reason: 'heartbeat_timeout' }, result.now);
      }
      metrics.positionsExpired.inc({ queue_id: queueId }, result.expired.length);
    }
  }

  async function refreshGauges() {
    for (const queueId of queueIds) {
      const [counts, config] = await Promise.all([store.stats(queueId), store.getQueue(queueId)]);
      metrics.queueLength.set({ queue_id: queueId }, counts.waiting);
      metrics.activeSessions.set({ queue_id: queueId }, counts.active);
      if (!config) continue;
      metrics.admissionRate.set({ queue_id: queueId }, config.admission_rate_per_minute);
      metrics.maxActiveUsers.set({ queue_id: queueId }, config.max_active_users);
      for (const status of QUEUE_STATUSES) metrics.queueStatus.set({ queue_id: queueId, status }, status === config.status ? 1 : 0);
    }
  }

  const refreshQueues = guarded('list-queues', async () => {
    queueIds = await store.listQueues();
  });
  const timers = [
    setInterval(refreshQueues, QUEUE_LIST_REFRESH_MS),
    setInterval(guarded('admit', admitAll), opts.tickMs),
    setInterval(guarded('sweep', sweepAll), opts.sweepIntervalMs),
    setInterval(guarded('gauges', refreshGauges), GAUGE_REFRESH_MS),
  ];
  refreshQueues();

  return {
    /** Makes a new queue take part at once instead of at the next list refresh. */
    track(queueId: string) {
      if (!queueIds.includes(queueId)) queueIds = [...queueIds, queueId];
    },
    async stop() {
      stopped = true;
      for (const t of timers) clearInterval(t);
      await Promise.allSettled([...running]);
    },
  };
}

export type AdmissionLoop = ReturnType<typeof startAdmissionLoop>;
