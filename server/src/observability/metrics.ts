import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { mallocTrimStats } from '../native-memory.js';

/** The seed's metric names (DESIGN §4) plus what operating the push service needs. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const queueLabel = ['queue_id'] as const;
  return {
    registry,
    queueLength: new Gauge({
      name: 'waiting_room_queue_length',
      help: 'Visitors waiting in the queue (authoritative, read from the store)',
      labelNames: queueLabel,
      registers: [registry],
    }),
    activeSessions: new Gauge({
      name: 'waiting_room_active_sessions',
      help: 'Admitted visitors whose session has not ended',
      labelNames: queueLabel,
      registers: [registry],
    }),
    admissionRate: new Gauge({
      name: 'waiting_room_admission_rate_per_minute',
      help: 'Configured admissions per minute',
      labelNames: queueLabel,
      registers: [registry],
    }),
    maxActiveUsers: new Gauge({
      name: 'waiting_room_max_active_users',
      help: 'Configured max_active_users (admission stops while active sessions reach it)',
      labelNames: queueLabel,
      registers: [registry],
    }),
    queueStatus: new Gauge({
      name: 'waiting_room_queue_status',
      help: '1 for the queue\'s current status (active admits; paused and maintenance do not), 0 for the others',
      labelNames: ['queue_id', 'status'] as const,
      registers: [registry],
    }),
    heartbeatsReceived: new Counter({
      name: 'waiting_room_heartbeats_received_total',
      help: 'Heartbeats received from visitors (REST)',
      registers: [registry],
    }),
    positionsExpired: new Counter({
      name: 'waiting_room_positions_expired_total',
      help: 'Waiting positions removed because their heartbeats stopped',
      labelNames: queueLabel,
      registers: [registry],
    }),
    cleanupDuration: new Histogram({
      name: 'waiting_room_cleanup_duration_seconds',
      help: 'Duration of one heartbeat sweep of one queue',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    admissions: new Counter({
      name: 'waiting_room_admissions_total',
      help: 'Visitors admitted by this node',
      labelNames: queueLabel,
      registers: [registry],
    }),
    joins: new Counter({
      name: 'waiting_room_joins_total',
      help: 'New positions created by this node',
      labelNames: queueLabel,
      registers: [registry],
    }),
    rejectedJoins: new Counter({
      name: 'waiting_room_joins_rejected_total',
      help: 'Joins refused, by reason',
      labelNames: ['queue_id', 'reason'] as const,
      registers: [registry],
    }),
    joinChallenges: new Counter({
      name: 'waiting_room_join_challenges_total',
      help: 'Join challenges, by outcome (issued, solved, failed)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    tarpittedJoins: new Counter({
      name: 'waiting_room_tarpitted_joins_total',
      help: 'Joins of suspected bots sent to the endless queue, by reason',
      labelNames: ['queue_id', 'reason'] as const,
      registers: [registry],
    }),
    sessionsEnded: new Counter({
      name: 'waiting_room_sessions_ended_total',
      help: 'Sessions ended, by reason (expired, released by their holder, terminated by an operator)',
      labelNames: ['queue_id', 'reason'] as const,
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'waiting_room_rate_limited_total',
      help: 'Requests refused by a per-IP limit',
      labelNames: ['limit'] as const,
      registers: [registry],
    }),
    eventBusConnected: new Gauge({
      name: 'waiting_room_event_bus_connected',
      help: '1 while the event bus (NATS JetStream, or the in-process bus) is usable',
      registers: [registry],
    }),
    eventPublishFailures: new Counter({
      name: 'waiting_room_event_publish_failures_total',
      help: 'Events that could not be published to the bus',
      registers: [registry],
    }),
    socketsConnected: new Gauge({
      name: 'waiting_room_websocket_connections',
      help: 'Open visitor WebSockets on this node',
      registers: [registry],
    }),
    socketMessages: new Counter({
      name: 'waiting_room_websocket_messages_total',
      help: 'WebSocket messages, by direction and type',
      labelNames: ['direction', 'type'] as const,
      registers: [registry],
    }),
    socketCloses: new Counter({
      name: 'waiting_room_websocket_closes_total',
      help: 'WebSocket closes, by close code',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    positionSnapshots: new Counter({
      name: 'waiting_room_position_snapshots_total',
      help: 'Exact-rank snapshots read from the store after a gap in the change feed',
      registers: [registry],
    }),
    backgroundFailures: new Counter({
      name: 'waiting_room_background_task_failures_total',
      help: 'Failed runs of the admission loop\'s tasks (admit, sweep, gauges, list-queues): usually the store is unreachable',
      labelNames: ['task'] as const,
      registers: [registry],
    }),
    storeLatency: new Histogram({
      name: 'waiting_room_store_operation_duration_seconds',
      help: 'Latency of store operations',
      labelNames: ['operation'] as const,
      buckets: [0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'waiting_room_http_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    wsJoinDuration: new Histogram({
      name: 'waiting_room_websocket_join_duration_seconds',
      help: 'Time from a socket\'s join to its answer (joined, admitted, challenge or error), by outcome',
      labelNames: ['outcome'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    mallocTrims: new Counter({
      name: 'waiting_room_malloc_trims_total',
      help: 'Free pages of the C allocator returned to the OS after major collections (process-wide; MALLOC_TRIM)',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(mallocTrimStats().trims);
      },
    }),
    mallocTrimSeconds: new Counter({
      name: 'waiting_room_malloc_trim_seconds_total',
      help: 'Time those trims took on a worker thread (process-wide)',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(mallocTrimStats().seconds);
      },
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
