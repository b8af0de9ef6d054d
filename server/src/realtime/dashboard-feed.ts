import type { Publish } from '../events/publisher.js';
import type { EventBus, WaitingRoomEvent } from '../events/types.js';
import type { Logger } from '../observability/logger.js';
import type { QueueDirectory } from '../services/queues.js';
import type { HistorySample, QueueStore } from '../store/types.js';
import {
  MINUTE_MS,
  chartPoints,
  createSocketCounts,
  queueView,
  trimReadings,
  type ChartPoint,
  type QueueView,
  type TotalsReading,
} from './dashboard-model.js';

/** What the dashboard page receives (JSON `{type, data}`, like the visitor protocol). */
export type DashboardMessage =
  | { type: 'ready'; data: { node: string; tick_ms: number; bucket_ms: number; history_ms: number } }
  | { type: 'history'; data: { queue_id: string; reset: boolean; bucket_ms: number; points: ChartPoint[] } }
  | { type: 'snapshot'; data: { at: number; queues: QueueView[] } }
  | { type: 'event'; data: { type: string; queue_id: string; at: string; source: string; data: Record<string, unknown> } }
  | { type: 'error'; data: { code: string; message: string } };

export interface DashboardFeedOptions {
  store: QueueStore;
  queues: QueueDirectory;
  bus: EventBus;
  publish: Publish;
  log: Logger;
  nodeId: string;
  /** This node's open visitor sockets per queue (the hub knows them). */
  localSockets: () => Map<string, number>;
  /** Sends to every authenticated page on this node (one uWS topic publish). */
  broadcast: (message: DashboardMessage) => void;
  /** Snapshot period while a page watches, default 1,000 ms. */
  tickMs?: number;
  /** One history sample per bucket, default 5,000 ms. */
  bucketMs?: number;
  /** History kept, default 30 minutes. */
  historyMs?: number;
  clock?: () => number;
}

/** A node reports its socket count per queue at least this often, and when it changes (at most once a tick). */
const SOCKET_REPORT_MS = 5_000;
/** A report counts this long: three missed reports and the node drops out. */
const SOCKET_REPORT_TTL_MS = 3 * SOCKET_REPORT_MS;
const QUEUE_LIST_REFRESH_MS = 5_000;
/** Events the page lists as they happen: what operators did, seen from any node. */
const CONTROL_EVENTS = new Set(['queue.created', 'queue.updated', 'queue.paused', 'queue.resumed', 'session.terminated']);

interface QueueHistory {
  points: ChartPoint[];
  last: HistorySample | undefined;
  /** Per-tick readings of the totals (store clock), for the pace figure. */
  readings: TotalsReading[];
}

/**
 * The operator dashboard's feed, one per node. Always running, at a cost per node and queue
 * (never per visitor): report this node's socket counts as `queue.sockets` events, and offer the
 * store a history sample each bucket (the first node to offer one wins). Only while a page
 * watches this node: read each queue's counts once a tick and broadcast one snapshot, and pass
 * on the history samples as they appear. Control events (pause, rate change, revoke) make a
 * snapshot at once, so their effect shows without waiting for the tick.
 */
export function createDashboardFeed(opts: DashboardFeedOptions) {
  const { store, log } = opts;
  const clock = opts.clock ?? Date.now;
  const tickMs = opts.tickMs ?? 1_000;
  const bucketMs = opts.bucketMs ?? 5_000;
  const historyMs = opts.historyMs ?? 30 * MINUTE_MS;
  const sockets = createSocketCounts();
  const histories = new Map<string, QueueHistory>();
  let queueIds: string[] = [];
  let viewers = 0;
  let stopped = false;

  // --- socket counts: this node's reports out, every node's reports in
  const reported = new Map<string, { sockets: number; at: number }>();
  function reportSockets() {
    const now = clock();
    const local = opts.localSockets();
    for (const queueId of new Set([...local.keys(), ...reported.keys()])) {
      const count = local.get(queueId) ?? 0;
      const last = reported.get(queueId);
      if (last && last.sockets === count && now - last.at < SOCKET_REPORT_MS) continue;
      opts.publish('queue.sockets', queueId, { sockets: count, ttl_ms: SOCKET_REPORT_TTL_MS });
      if (count === 0) reported.delete(queueId);
      else reported.set(queueId, { sockets: count, at: now });
    }
  }

  let snapshotSoon: ReturnType<typeof setTimeout> | undefined;
  function onEvent(event: WaitingRoomEvent) {
    if (event.type === 'queue.sockets') {
      const count = Number(event.data.sockets);
      const ttl = Number(event.data.ttl_ms);
      if (Number.isFinite(count) && Number.isFinite(ttl)) sockets.report(event.queue_id, event.source, count, clock() + ttl);
      return;
    }
    if (!CONTROL_EVENTS.has(event.type) || viewers === 0) return;
    const { type, queue_id, timestamp, source, data } = event;
    opts.broadcast({ type: 'event', data: { type, queue_id, at: timestamp, source, data } });
    if (event.type === 'queue.created') queueIds = [...new Set([...queueIds, event.queue_id])];
    // Let the change land in the store (and other events of the same action arrive) first.
    snapshotSoon ??= setTimeout(() => {
      snapshotSoon = undefined;
      snapshot();
    }, 100);
  }
  const unsubscribe = opts.bus.subscribe(onEvent);

  // --- history: offered to the store by every node, read back only where a page watches
  async function recordHistory() {
    const now = clock();
    await Promise.all(
      queueIds.map((q) => store.recordHistory(q, bucketMs, historyMs, sockets.total(q, now).sockets)),
    );
  }

  /** New samples of a queue since the last read: appended (or a full series the first time). */
  async function refreshHistory(queueId: string): Promise<DashboardMessage | undefined> {
    let h = histories.get(queueId);
    const since = h?.last ? h.last.at - (h.last.at % bucketMs) + 1 : (await store.now()) - historyMs;
    const samples = await store.history(queueId, since);
    if (h && samples.length === 0) return undefined;
    const points = chartPoints(samples, bucketMs, h?.last);
    const reset = h === undefined;
    if (!h) histories.set(queueId, (h = { points: [], last: undefined, readings: [] }));
    h.points = trimReadings([...h.points, ...points], points.at(-1)?.at ?? clock(), historyMs);
    h.last = samples.at(-1) ?? h.last;
    // History samples also serve as older readings for the per-minute figures.
    for (const s of samples) h.readings.push({ at: s.at, totalEnqueued: s.totalEnqueued, totalAdmitted: s.totalAdmitted, totalExpired: s.totalExpired });
    h.readings.sort((a, b) => a.at - b.at);
    return { type: 'history', data: { queue_id: queueId, reset, bucket_ms: bucketMs, points: reset ? h.points : points } };
  }

  let lastHistoryRead = 0;
  async function tick() {
    if (viewers === 0 || stopped) return;
    const readHistory = clock() - lastHistoryRead >= bucketMs / 2;
    if (readHistory) lastHistoryRead = clock();
    const views = await Promise.all(
      queueIds.map(async (queueId) => {
        const [config, counts, history] = await Promise.all([
          opts.queues.get(queueId),
          store.stats(queueId),
          readHistory || !histories.has(queueId) ? refreshHistory(queueId) : undefined,
        ]);
        if (history) opts.broadcast(history);
        const h = histories.get(queueId);
        if (!config || !h) return undefined;
        const view = queueView(config, counts, sockets.total(queueId, clock()), h.readings);
        h.readings.push({ at: counts.now, totalEnqueued: counts.totalEnqueued, totalAdmitted: counts.totalAdmitted, totalExpired: counts.totalExpired });
        h.readings = trimReadings(h.readings, counts.now, MINUTE_MS + bucketMs * 2);
        return view;
      }),
    );
    const queues = views.filter((v): v is QueueView => v !== undefined).sort((a, b) => a.queue_id.localeCompare(b.queue_id));
    opts.broadcast({ type: 'snapshot', data: { at: clock(), queues } });
  }

  const guarded = (name: string, fn: () => Promise<void> | void) => {
    let busy = false;
    return () => {
      if (busy || stopped) return;
      busy = true;
      Promise.resolve()
        .then(fn)
        .catch((err: unknown) => log.warn({ err, task: name }, 'dashboard task failed'))
        .finally(() => (busy = false));
    };
  };
  /** One snapshot at a time: a control event's snapshot and the tick's never overlap. */
  const snapshot = guarded('snapshot', tick);
  const refreshQueues = guarded('list-queues', async () => {
    queueIds = await store.listQueues();
    for (const id of histories.keys()) if (!queueIds.includes(id)) histories.delete(id);
  });
  const timers = [
    setInterval(refreshQueues, QUEUE_LIST_REFRESH_MS),
    setInterval(guarded('report-sockets', () => reportSockets()), Math.min(tickMs, SOCKET_REPORT_MS)),
    // Twice a bucket, so timer drift never skips one; the store keeps the first sample of each.
    setInterval(guarded('record-history', recordHistory), bucketMs / 2),
    setInterval(() => snapshot(), tickMs),
  ];
  refreshQueues();

  return {
    /** A page signed in: it gets the whole history, then the snapshots with everyone else. */
    async welcome(send: (message: DashboardMessage) => void) {
      viewers++;
      send({ type: 'ready', data: { node: opts.nodeId, tick_ms: tickMs, bucket_ms: bucketMs, history_ms: historyMs } });
      if (queueIds.length === 0) queueIds = await store.listQueues();
      for (const queueId of queueIds) {
        const h = histories.get(queueId);
        if (h) send({ type: 'history', data: { queue_id: queueId, reset: true, bucket_ms: bucketMs, points: h.points } });
      }
      snapshot();
    },
    leave() {
      viewers = Math.max(0, viewers - 1);
    },
    viewers: () => viewers,
    /** Draining: this node's sockets are gone, so its reports say 0 at once. */
    close() {
      stopped = true;
      for (const t of timers) clearInterval(t);
      if (snapshotSoon) clearTimeout(snapshotSoon);
      unsubscribe();
      for (const queueId of reported.keys()) opts.publish('queue.sockets', queueId, { sockets: 0, ttl_ms: SOCKET_REPORT_TTL_MS });
      reported.clear();
    },
  };
}

export type DashboardFeed = ReturnType<typeof createDashboardFeed>;
