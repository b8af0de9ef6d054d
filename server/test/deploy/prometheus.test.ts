import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { parse } from 'yaml';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { startAdmissionLoop } from '../../src/services/admission-loop.js';
import { createRedisQueueStore } from '../../src/store/redis.js';
import { call, createQueue, enqueue, redisUrlFor, startTestNode, uniqueQueueId, waitFor, type TestNode } from '../support/nodes.js';
import { freePort, REPO_ROOT, runProcess, signalGroup, type ServerProcess } from '../support/process.js';
import { TestSocket, wsUrl } from '../support/ws-client.js';
import { asPlainPromql, dashboardQueries, loadDashboard } from './dashboard.js';
import { exportedNames, metricNamesIn } from './promql.js';

/**
 * deploy/prometheus against the real tools (Debian's `prometheus` package: promtool and the
 * server): the files are valid, the alert rules pass their unit tests, the rules read only
 * metrics a node exports, and a real Prometheus scrapes a real node.
 */
const DIR = join(REPO_ROOT, 'deploy/prometheus');
const run = promisify(execFile);

async function promtool(...args: string[]) {
  try {
    const { stdout, stderr } = await run('promtool', args, { cwd: DIR });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

interface RuleFile {
  groups: { name: string; rules: { alert?: string; expr: string }[] }[];
}

describe('deploy/prometheus with promtool', () => {
  it('has a valid config and valid rules', async () => {
    const config = await promtool('check', 'config', 'prometheus.yml');
    expect(config.output).toContain('SUCCESS');
    expect(config.code).toBe(0);
    const rules = await promtool('check', 'rules', 'alerts.yml');
    expect(rules.code, rules.output).toBe(0);
    expect(rules.output).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('passes the unit tests of the alert rules', async () => {
    const result = await promtool('test', 'rules', 'alerts.test.yml');
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain('SUCCESS');
  });

  it('has unit tests that catch a broken rule', async () => {
    // Without its `unless`, the stalled-queue alert fires for a queue that is being admitted.
    const dir = mkdtempSync(join(tmpdir(), 'wr-rules-'));
    try {
      const rules = readFileSync(join(DIR, 'alerts.yml'), 'utf8');
      const broken = rules.replace(/\n\s*unless sum by \(queue_id\) \(increase\(waiting_room_admissions_total\[10m\]\)\) > 0/, '');
      expect(broken).not.toBe(rules);
      writeFileSync(join(dir, 'alerts.yml'), broken);
      copyFileSync(join(DIR, 'alerts.test.yml'), join(dir, 'alerts.test.yml'));
      const { stdout, stderr, code } = await run('promtool', ['test', 'rules', 'alerts.test.yml'], { cwd: dir }).then(
        (r) => ({ ...r, code: 0 }),
        (e: { stdout: string; stderr: string; code: number }) => e,
      );
      expect(code).not.toBe(0);
      expect(stdout + stderr).toContain('queue_id="moving"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('alerts only on metrics a node exports', async () => {
    const node = await startTestNode();
    try {
      const exposition = await (await fetch(`${node.url}/metrics`)).text();
      const exported = exportedNames(exposition);
      const file = parse(readFileSync(join(DIR, 'alerts.yml'), 'utf8')) as RuleFile;
      const used = new Set(file.groups.flatMap((g) => g.rules.flatMap((r) => [...metricNamesIn(r.expr)])));
      expect(used.size).toBeGreaterThan(10);
      // `up` is Prometheus's own series for every target.
      const unknown = [...used].filter((name) => name !== 'up' && !exported.has(name));
      expect(unknown).toEqual([]);
    } finally {
      await node.close();
    }
  });
});

describe('docs/OBSERVABILITY.md', () => {
  const doc = readFileSync(join(REPO_ROOT, 'docs/OBSERVABILITY.md'), 'utf8');

  it('explains every alert, where its runbook annotation points', () => {
    const file = parse(readFileSync(join(DIR, 'alerts.yml'), 'utf8')) as {
      groups: { rules: { alert: string; annotations: { runbook: string } }[] }[];
    };
    const headings = new Set([...doc.matchAll(/^### (\w+)$/gm)].map((m) => m[1]));
    for (const rule of file.groups.flatMap((g) => g.rules)) {
      expect(headings, rule.alert).toContain(rule.alert);
      expect(rule.annotations.runbook).toBe(`docs/OBSERVABILITY.md#${rule.alert.toLowerCase()}`);
    }
  });

  it('lists every metric of the server', async () => {
    const node = await startTestNode();
    try {
      const exposition = await (await fetch(`${node.url}/metrics`)).text();
      const ours = [...exposition.matchAll(/^# TYPE (waiting_room_\w+) /gm)].map((m) => m[1]!);
      expect(ours.length).toBeGreaterThan(20);
      const documented = new Set([...doc.matchAll(/^\| `(waiting_room_\w+)` \|/gm)].map((m) => m[1]));
      expect(ours.filter((name) => !documented.has(name))).toEqual([]);
      expect([...documented].filter((name) => !ours.includes(name!))).toEqual([]);
    } finally {
      await node.close();
    }
  });
});

describe('the failure counter WaitingRoomBackgroundTasksFailing reads', () => {
  it('counts the admission loop\'s failed runs when the store goes away', async () => {
    const redis = new Redis(redisUrlFor(11), { lazyConnect: true, maxRetriesPerRequest: 0 });
    await redis.connect();
    const metrics = createMetrics();
    const loop = startAdmissionLoop({
      store: createRedisQueueStore(redis),
      publish: () => undefined,
      metrics,
      log: createLogger('silent'),
      tickMs: 50,
      sweepIntervalMs: 100,
    });
    redis.disconnect(); // no reconnect: every store call now fails
    try {
      const failed = await waitFor(async () => {
        const sample = (await metrics.backgroundFailures.get()).values.find((v) => v.labels.task === 'list-queues');
        return sample && sample.value > 0 ? sample.value : undefined;
      });
      expect(failed).toBeGreaterThan(0);
    } finally {
      await loop.stop();
    }
  });
});

describe('a real Prometheus scraping a node', () => {
  let node: TestNode;
  let prometheus: ServerProcess;
  let promUrl: string;
  let dataDir: string;
  const waitingQ = uniqueQueueId('prom-wait');
  const expiringQ = uniqueQueueId('prom-exp');
  const admittingQ = uniqueQueueId('prom-adm');
  const socketQ = uniqueQueueId('prom-ws');
  let socket: TestSocket;

  beforeAll(async () => {
    node = await startTestNode({ redisDb: 11 });
    // Paused: nobody is admitted, so the queue length stays what was enqueued.
    await createQueue(node, { id: waitingQ, status: 'paused' });
    await createQueue(node, { id: expiringQ, status: 'paused', heartbeat_interval_seconds: 1, heartbeat_timeout_seconds: 2 });
    await createQueue(node, { id: admittingQ, admission_rate_per_minute: 600 });
    const tickets: string[] = [];
    for (let i = 0; i < 5; i++) tickets.push(String((await enqueue(node, waitingQ)).body.token));
    for (const token of tickets.slice(0, 3)) {
      const hb = await call(`${node.url}/api/v1/queues/${waitingQ}/heartbeat`, { method: 'POST', token, body: { timestamp: Date.now() } });
      expect(hb.status).toBe(200);
    }
    expect((await enqueue(node, expiringQ)).status).toBe(201); // never heartbeats: expires after 2 s
    expect((await enqueue(node, admittingQ)).status).toBe(201);
    await createQueue(node, { id: socketQ, status: 'paused' });
    socket = await TestSocket.open(wsUrl(node.url, socketQ));
    expect((await socket.join()).type).toBe('joined');

    dataDir = mkdtempSync(join(tmpdir(), 'wr-prometheus-'));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    // The deployed rules, loaded by a real server: their evaluation health is checked below.
    copyFileSync(join(DIR, 'alerts.yml'), join(dataDir, 'alerts.yml'));
    writeFileSync(
      join(dataDir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        'rule_files: [alerts.yml]',
        'scrape_configs:',
        '  - job_name: waiting-room',
        `    static_configs: [{ targets: ['127.0.0.1:${node.port}'] }]`,
      ].join('\n'),
    );
    prometheus = runProcess('prometheus', [
      `--config.file=${join(dataDir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dataDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ], {});
    await waitFor(async () => {
      if (prometheus.child.exitCode !== null) throw new Error(`prometheus exited:\n${prometheus.output()}`);
      return (await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.ok ? true : undefined;
    }, 20_000, 100);
  }, 60_000);

  afterAll(async () => {
    socket?.close();
    if (prometheus) {
      signalGroup(prometheus, 'SIGTERM');
      await prometheus.exited;
    }
    await node?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** One instant query through the HTTP API: the values of the samples it returns. */
  async function query(promql: string): Promise<number[]> {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as { status: string; data: { result: { value: [number, string] }[] } };
    expect(body.status).toBe('success');
    return body.data.result.map((r) => Number(r.value[1]));
  }

  /** Waits until Prometheus has scraped the value (gauges refresh every second, scrapes too). */
  const eventually = (promql: string, expected: number) =>
    waitFor(async () => {
      const values = await query(promql);
      return values.length === 1 && values[0] === expected ? values : undefined;
    }, 20_000, 250);

  it('scrapes the node', async () => {
    await eventually(`up{job="waiting-room", instance="127.0.0.1:${node.port}"}`, 1);
  });

  it('sees the queue length, active sessions and the configured rate of each queue', async () => {
    await eventually(`waiting_room_queue_length{queue_id="${waitingQ}"}`, 5);
    await eventually(`waiting_room_queue_status{queue_id="${waitingQ}", status="paused"}`, 1);
    await eventually(`waiting_room_admissions_total{queue_id="${admittingQ}"}`, 1);
    await eventually(`waiting_room_active_sessions{queue_id="${admittingQ}"}`, 1);
    await eventually(`waiting_room_queue_length{queue_id="${admittingQ}"}`, 0);
    await eventually(`waiting_room_admission_rate_per_minute{queue_id="${admittingQ}"}`, 600);
    await eventually(`waiting_room_max_active_users{queue_id="${admittingQ}"}`, 50_000);
  });

  it('sees heartbeats, joins, expiries and the sweeps that found them', async () => {
    await eventually('waiting_room_heartbeats_received_total', 3);
    await eventually(`waiting_room_joins_total{queue_id="${waitingQ}"}`, 5);
    await eventually(`waiting_room_positions_expired_total{queue_id="${expiringQ}"}`, 1);
    await eventually(`waiting_room_queue_length{queue_id="${expiringQ}"}`, 0);
    const sweeps = await waitFor(async () => {
      const [count] = await query('waiting_room_cleanup_duration_seconds_count');
      return count !== undefined && count > 0 ? count : undefined;
    });
    expect(sweeps).toBeGreaterThan(0);
    // A rate needs two scrapes of the histogram.
    const p99 = await waitFor(async () => {
      const [value] = await query('histogram_quantile(0.99, sum by (le) (rate(waiting_room_cleanup_duration_seconds_bucket[1m])))');
      return value !== undefined && value > 0 ? value : undefined;
    });
    expect(p99).toBeLessThan(1);
    await eventually('waiting_room_event_bus_connected', 1);
  });

  it('sees the open socket and how long its join took', async () => {
    await eventually('waiting_room_websocket_connections', 1);
    await eventually('waiting_room_websocket_join_duration_seconds_count{outcome="joined"}', 1);
    await eventually(`waiting_room_queue_length{queue_id="${socketQ}"}`, 1);
    const [joinSeconds] = await query('waiting_room_websocket_join_duration_seconds_sum');
    expect(joinSeconds).toBeGreaterThan(0);
    expect(joinSeconds).toBeLessThan(5);
  });

  it('runs every query of the Grafana dashboard, and they find data', async () => {
    await eventually(`waiting_room_queue_length{queue_id="${waitingQ}"}`, 5);
    const queries = dashboardQueries(loadDashboard()).map(asPlainPromql);
    const empty: string[] = [];
    for (const promql of queries) {
      const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await res.json()) as { status: string; error?: string; data?: { result: unknown[] } };
      expect({ promql, status: body.status, error: body.error }).toEqual({ promql, status: 'success', error: undefined });
      if (body.data?.result.length === 0) empty.push(promql);
    }
    // Some panels show events a quiet test node never has (failures, closes, rejected joins).
    expect(empty.length).toBeLessThan(queries.length / 2);
  });

  it('evaluates every alert rule without error, and none is even pending on a healthy node', async () => {
    const rules = await waitFor(async () => {
      const res = await fetch(`${promUrl}/api/v1/rules?type=alert`);
      const body = (await res.json()) as {
        data: { groups: { rules: { name: string; health: string; lastError?: string; state: string }[] }[] };
      };
      const all = body.data.groups.flatMap((g) => g.rules);
      // Wait until every rule has been evaluated once.
      return all.length > 0 && all.every((r) => r.health !== 'unknown') ? all : undefined;
    }, 20_000, 250);
    expect(rules.length).toBe(14);
    for (const rule of rules) expect({ name: rule.name, health: rule.health, error: rule.lastError ?? '' }).toEqual({ name: rule.name, health: 'ok', error: '' });
    expect(rules.filter((r) => r.state !== 'inactive').map((r) => r.name)).toEqual([]);
  });
});
