/**
 * What the realtime benchmark found, as tables for people and one JSON line for machines (the
 * last line of stdout). The measuring is in ../realtime.ts.
 */
import { availableParallelism } from 'node:os';
import type { RssByMapping } from './proc.js';
import type { OpenSummary, SwarmReport } from '../../lib/swarm.js';
import type { BareBaselineResult } from './bare-baseline.js';
import type { CpuShares } from './cpu.js';
import { mergeCounts, sumOf, type Deliveries, type Window } from './fanout-window.js';
import { formatTable, type Cell } from './report.js';
import { round, type LatencySummary } from './stats.js';

/** The targets at 20,000 sockets (shown with every run). */
export const TARGETS = {
  joinsPerS: 3_000,
  fanoutShareOfBaseline: 0.7,
  admitToClientP99Ms: 250,
  serverRssBytesPerSocket: 1_536,
  storeBytesPerVisitor: 200,
};

/** How the run was set up (echoed in the JSON). */
export interface RunSettings {
  sockets: number;
  servers: number;
  generators: number;
  sourceAddresses: number;
  windowSeconds: number;
  admissionRate: number;
  jwtAlg: string;
  serverEnv: Record<string, string>;
  /** The servers' malloc (lib/allocator.ts). */
  allocator: string;
  events: 'nats' | 'in-process';
}

export interface ServerMemory {
  rss: number;
  /** V8 heap in use (live objects and not yet collected garbage) and reserved, all servers. */
  heapUsed: number;
  heapTotal: number;
  /** Memory of ArrayBuffers and Buffers outside the V8 heap (Node's `external`). */
  external: number;
  /** V8's reserved heap by space: new (the young generation's semi-spaces), old, code, large objects. */
  spaces: Record<HeapSpace, number>;
  /** Resident memory by kind of mapping (/proc/<pid>/smaps), all servers. */
  mappings: RssByMapping;
}

export const HEAP_SPACES = ['new_space', 'old_space', 'code_space', 'large_object_space'] as const;
export type HeapSpace = (typeof HEAP_SPACES)[number];

export interface JoinPhase {
  summaries: OpenSummary[];
  joined: number;
  failed: number;
  perS: number;
  latency: LatencySummary;
  cpu: CpuShares;
  /** `position_update` frames the generators received from the first connect to the last `joined`. */
  updatesDuring: number;
}

export interface StoreFigures {
  waiting: number;
  keys: number;
  bytesPerVisitor: number;
  byKind: Record<string, number>;
}

export interface FanoutPhase {
  window: Window;
  deliveries: Deliveries;
  serverMetricPerS: number;
  admittedInWindowPerS: number;
  /** Admissions the store made inside the window (steady state). */
  admitToClient: LatencySummary;
  /** Every admission of the phase, the activation burst included. */
  admitToClientAll: LatencySummary;
  /** What the store counted as admitted (every `admitted` push should have arrived). */
  storeAdmitted: number;
}

export interface Results {
  redisVersion: string;
  join: JoinPhase;
  socketsOnServers: number;
  /** Growth per joined socket, all servers, both readings after a full GC: RSS, and of it the V8 heap (used, reserved). */
  memoryPerSocket: ServerMemory;
  /** The same, read 2 s after the last join (the join storm's garbage not yet collected). */
  memoryPerSocketAfterJoins: ServerMemory;
  store: StoreFigures;
  fanout: FanoutPhase;
  reports: SwarmReport[];
  baseline: BareBaselineResult | undefined;
  baselineError: string | undefined;
}

const cpuCells = (c: CpuShares | undefined): Cell[] =>
  c ? [round(c.generator, 0), round(c.server, 0), round(c.redis, 0), round(c.nats, 0), round(c.others, 0)] : ['—', '—', '—', '—', '—'];
const cpuJson = (c: CpuShares | undefined) =>
  c
    ? { generator: round(c.generator, 0), server: round(c.server, 0), redis: round(c.redis, 0), nats: round(c.nats, 0), others: round(c.others, 0) }
    : null;
const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
/** Server CPU per delivered frame, µs: the servers' share of one core (%) spread over the frames. */
const serverUsPerDelivery = (cpu: CpuShares | undefined, perS: number | undefined) =>
  cpu && perS ? (cpu.server * 10_000) / perS : NaN;

/** Prints the tables and, as the last line of stdout, the JSON summary. */
export function printReport(r: Results, run: RunSettings): void {
  const { sockets, windowSeconds, admissionRate } = run;
  const f = r.fanout;
  const b = r.baseline;
  const baselinePerS = b?.tick.perS ?? NaN;
  const share = f.deliveries.perS / baselinePerS;
  const perSocketShare = f.deliveries.perSocketPerS / (b?.tick.perSocketPerS ?? NaN);
  const rises = sumOf(r.reports, (x) => x.positionRises);
  const closeCodes = mergeCounts(r.reports.map((x) => x.closeCodes));
  const errors = mergeCounts(r.reports.map((x) => x.errors));
  console.log('');
  console.log(
    formatTable(
      ['figure', 'value', 'target', ''],
      [
        ['joins/s (first connect → last joined)', round(r.join.perS, 0), `≥ ${TARGETS.joinsPerS}`, verdict(r.join.perS >= TARGETS.joinsPerS)],
        ['  connect → joined p50 ms', round(r.join.latency.p50Ms, 1), '', ''],
        ['  connect → joined p99 ms', round(r.join.latency.p99Ms, 1), '', ''],
        ['  position updates received while joining', r.join.updatesDuring, '', ''],
        [`fan-out deliveries/s (${windowSeconds} s window)`, round(f.deliveries.perS, 0), '', ''],
        ['  per waiting socket per s', round(f.deliveries.perSocketPerS, 3), '1 per tick', ''],
        ['  mean waiting sockets in the window', round(f.deliveries.meanWaiting, 0), '', ''],
        ['  servers\' own counter, per s', round(f.serverMetricPerS, 0), '', ''],
        ['bare uWS baseline, same tick, deliveries/s', round(baselinePerS, 0), '', ''],
        ['  per socket per s', round(b?.tick.perSocketPerS ?? NaN, 3), '', ''],
        ['fan-out ÷ baseline', round(share * 100, 1), `≥ ${TARGETS.fanoutShareOfBaseline * 100} %`, verdict(share >= TARGETS.fanoutShareOfBaseline)],
        ['  per waiting socket ÷ per socket', round(perSocketShare * 100, 1), '', ''],
        ['bare uWS flat out, deliveries/s', round(b?.flood?.perS ?? NaN, 0), '', ''],
        [
          'server CPU µs per delivery: waiting room / bare tick / bare flat out',
          [f.window.cpu, b?.tick.cpu, b?.flood?.cpu]
            .map((cpu, i) => serverUsPerDelivery(cpu, [f.deliveries.perS, b?.tick.perS, b?.flood?.perS][i]))
            .map((us) => (Number.isFinite(us) ? String(round(us, 1)) : '—'))
            .join(' / '),
          '',
          '',
        ],
        ['admissions during the window, per s', round(f.admittedInWindowPerS, 0), `${round(admissionRate / 60, 0)}/s set`, ''],
        [`admission → client p50 ms (${f.admitToClient.count} admitted in the window)`, round(f.admitToClient.p50Ms, 1), '', ''],
        ['admission → client p99 ms', round(f.admitToClient.p99Ms, 1), `≤ ${TARGETS.admitToClientP99Ms}`, verdict(f.admitToClient.p99Ms <= TARGETS.admitToClientP99Ms)],
        ['admission → client max ms', round(f.admitToClient.maxMs, 1), '', ''],
        [`  with the activation burst: p50 ms (${f.admitToClientAll.count} of ${f.storeAdmitted} admitted)`, round(f.admitToClientAll.p50Ms, 1), '', ''],
        ['  with the activation burst: p99 ms', round(f.admitToClientAll.p99Ms, 1), '', ''],
        [
          'server RSS bytes per socket',
          round(r.memoryPerSocket.rss, 0),
          `≤ ${TARGETS.serverRssBytesPerSocket}`,
          // Less than nothing: the allocator was still returning start-up memory (jemalloc's decay).
          r.memoryPerSocket.rss <= 0 ? 'no reading' : verdict(r.memoryPerSocket.rss <= TARGETS.serverRssBytesPerSocket),
        ],
        ['  V8 heap used / reserved, bytes per socket', `${round(r.memoryPerSocket.heapUsed, 0)} / ${round(r.memoryPerSocket.heapTotal, 0)}`, '', ''],
        [
          '  of the reserved heap: new / old / code / large objects',
          HEAP_SPACES.map((space) => round(r.memoryPerSocket.spaces[space], 0)).join(' / '),
          '',
          '',
        ],
        [
          '  of the RSS: glibc main arena (brk) / anonymous (V8 pages, arenas) / files, other',
          `${round(r.memoryPerSocket.mappings.brk, 0)} / ${round(r.memoryPerSocket.mappings.anonymous, 0)} / ${round(r.memoryPerSocket.mappings.other, 0)}`,
          '',
          '',
        ],
        ['  Node external memory, bytes per socket', round(r.memoryPerSocket.external, 0), '', ''],
        ['  RSS 2 s after the last join (storm garbage), bytes per socket', round(r.memoryPerSocketAfterJoins.rss, 0), '', ''],
        ['bare uWS RSS bytes per socket', round(b?.rssBytesPerSocket ?? NaN, 0), '', ''],
        [`store bytes per visitor (MEMORY USAGE, ${r.store.keys} keys)`, round(r.store.bytesPerVisitor, 1), `≤ ${TARGETS.storeBytesPerVisitor}`, verdict(r.store.bytesPerVisitor <= TARGETS.storeBytesPerVisitor)],
      ],
    ),
  );
  console.log('');
  console.log(
    formatTable(
      ['phase (CPU % of one core)', 'generators', 'servers', 'redis', 'nats', 'others'],
      [
        ['join', ...cpuCells(r.join.cpu)],
        ['fan-out window', ...cpuCells(f.window.cpu)],
        ['baseline window (tick)', ...cpuCells(b?.tick.cpu)],
        ['baseline window (flat out)', ...cpuCells(b?.flood?.cpu)],
      ],
    ),
  );
  console.log(`(${availableParallelism()} cores = ${availableParallelism() * 100} %)`);
  console.log(`close codes: ${JSON.stringify(closeCodes)}; errors: ${JSON.stringify(errors)}; position rises: ${rises}`);
  const samples = [...new Set(r.reports.flatMap((x) => x.errorSamples))].slice(0, 5);
  if (samples.length > 0) console.log(`error samples: ${samples.join(' | ')}`);
  console.log('');
  console.log(
    JSON.stringify({
      sockets,
      servers: run.servers,
      generators: run.generators,
      source_addresses: run.sourceAddresses,
      joined: r.join.joined,
      join_failed: r.join.failed,
      joins_per_s: round(r.join.perS, 0),
      join_p50_ms: round(r.join.latency.p50Ms, 2),
      join_p99_ms: round(r.join.latency.p99Ms, 2),
      join_phase_position_updates: r.join.updatesDuring,
      fanout_deliveries_per_s: round(f.deliveries.perS, 0),
      fanout_per_waiting_socket_per_s: round(f.deliveries.perSocketPerS, 4),
      fanout_mean_waiting_sockets: round(f.deliveries.meanWaiting, 0),
      fanout_server_metric_per_s: round(f.serverMetricPerS, 0),
      fanout_baseline_per_s: round(baselinePerS, 0),
      fanout_baseline_per_socket_per_s: round(b?.tick.perSocketPerS ?? NaN, 4),
      fanout_share_of_baseline: round(share, 4),
      fanout_per_socket_share_of_baseline: round(perSocketShare, 4),
      fanout_capacity_per_s: round(b?.flood?.perS ?? NaN, 0),
      server_cpu_us_per_delivery: {
        fanout: round(serverUsPerDelivery(f.window.cpu, f.deliveries.perS), 2),
        baseline_tick: round(serverUsPerDelivery(b?.tick.cpu, b?.tick.perS), 2),
        baseline_flood: round(serverUsPerDelivery(b?.flood?.cpu, b?.flood?.perS), 2),
      },
      baseline_error: r.baselineError ?? null,
      admissions_per_s: round(f.admittedInWindowPerS, 0),
      admissions_in_window: f.admitToClient.count,
      admit_to_client_ms_p50: round(f.admitToClient.p50Ms, 2),
      admit_to_client_ms_p99: round(f.admitToClient.p99Ms, 2),
      admit_to_client_ms_max: round(f.admitToClient.maxMs, 2),
      admissions_received: f.admitToClientAll.count,
      admissions_by_store: f.storeAdmitted,
      admit_to_client_all_ms_p50: round(f.admitToClientAll.p50Ms, 2),
      admit_to_client_all_ms_p99: round(f.admitToClientAll.p99Ms, 2),
      admit_to_client_all_ms_max: round(f.admitToClientAll.maxMs, 2),
      server_rss_bytes_per_socket: round(r.memoryPerSocket.rss, 0),
      server_heap_used_bytes_per_socket: round(r.memoryPerSocket.heapUsed, 0),
      server_heap_total_bytes_per_socket: round(r.memoryPerSocket.heapTotal, 0),
      server_rss_by_mapping_bytes_per_socket: {
        brk: round(r.memoryPerSocket.mappings.brk, 0),
        anonymous: round(r.memoryPerSocket.mappings.anonymous, 0),
        other: round(r.memoryPerSocket.mappings.other, 0),
      },
      server_heap_spaces_bytes_per_socket: Object.fromEntries(HEAP_SPACES.map((space) => [space, round(r.memoryPerSocket.spaces[space], 0)])),
      server_external_bytes_per_socket: round(r.memoryPerSocket.external, 0),
      server_rss_bytes_per_socket_after_joins: round(r.memoryPerSocketAfterJoins.rss, 0),
      server_heap_total_bytes_per_socket_after_joins: round(r.memoryPerSocketAfterJoins.heapTotal, 0),
      bare_rss_bytes_per_socket: round(b?.rssBytesPerSocket ?? NaN, 0),
      store_bytes_per_visitor: round(r.store.bytesPerVisitor, 1),
      store_bytes_per_visitor_by_key: Object.fromEntries(Object.entries(r.store.byKind).map(([k, v]) => [k, round(v, 1)])),
      store_waiting: r.store.waiting,
      sockets_on_servers: r.socketsOnServers,
      position_rises: rises,
      close_codes: closeCodes,
      errors,
      cpu_percent_of_one_core: {
        join: cpuJson(r.join.cpu),
        fanout: cpuJson(f.window.cpu),
        baseline_tick: cpuJson(b?.tick.cpu),
        baseline_flood: cpuJson(b?.flood?.cpu),
      },
      window_seconds: windowSeconds,
      admission_rate_per_minute: admissionRate,
      jwt_alg: run.jwtAlg,
      server_env: run.serverEnv,
      allocator: run.allocator,
      events: run.events,
      node: process.version,
      redis: r.redisVersion,
      cpus: availableParallelism(),
    }),
  );
}

