import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startTestNode } from '../support/nodes.js';
import { REPO_ROOT } from '../support/process.js';
import { dashboardQueries, loadDashboard } from './dashboard.js';
import { exportedNames, metricNamesIn } from './promql.js';

/** deploy/grafana: the dashboard reads only what the server exports, from the provisioned data source. */
const GRAFANA = join(REPO_ROOT, 'deploy/grafana');

describe('the PromQL metric-name scanner the deploy tests use', () => {
  it('finds metric names and skips functions, keywords, labels, ranges and numbers', () => {
    const expr =
      'histogram_quantile(0.99, sum by (route, le) (rate(http_seconds_bucket{route=~"/api/.*", job="x"}[5m]))) > 1e3 ' +
      'and on (instance) max without (le) (up offset 5m) or count(foo:recorded) * bool 2 ' +
      'unless sum(rate(things_total[$__rate_interval])) / 60';
    expect([...metricNamesIn(expr)].sort()).toEqual(['foo:recorded', 'http_seconds_bucket', 'things_total', 'up']);
    expect([...metricNamesIn('label_values(waiting_room_queue_length, queue_id)')]).toEqual(['waiting_room_queue_length']);
  });

  it('reads the declared names of an exposition, with histogram suffixes', () => {
    const names = exportedNames('# HELP a_seconds x\n# TYPE a_seconds histogram\na_seconds_bucket{le="1"} 0\n# TYPE b gauge\nb 1\n');
    expect([...names].sort()).toEqual(['a_seconds', 'a_seconds_bucket', 'a_seconds_count', 'a_seconds_sum', 'b']);
  });
});

describe('deploy/grafana', () => {
  const dashboard = loadDashboard();
  const datasources = parse(readFileSync(join(GRAFANA, 'provisioning/datasources/prometheus.yml'), 'utf8')) as {
    datasources: { uid: string; type: string; url: string }[];
  };
  const providers = parse(readFileSync(join(GRAFANA, 'provisioning/dashboards/waiting-room.yml'), 'utf8')) as {
    providers: { type: string; options: { path: string } }[];
  };

  it('provisions one Prometheus data source and a file provider', () => {
    expect(datasources.datasources).toHaveLength(1);
    expect(datasources.datasources[0]).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' });
    expect(providers.providers[0]).toMatchObject({ type: 'file', options: { path: '/var/lib/grafana/dashboards' } });
  });

  it('has a dashboard whose panels are unique, do not overlap, and read the provisioned data source', () => {
    expect(dashboard.uid).toBe('waiting-room');
    const uid = datasources.datasources[0]?.uid;
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Map<string, string>();
    for (const panel of dashboard.panels) {
      const { x, y, w, h } = panel.gridPos;
      expect(x + w, panel.title).toBeLessThanOrEqual(24);
      for (let cx = x; cx < x + w; cx++) {
        for (let cy = y; cy < y + h; cy++) {
          const other = cells.get(`${cx},${cy}`);
          expect(other, `${panel.title} overlaps ${other}`).toBeUndefined();
          cells.set(`${cx},${cy}`, panel.title);
        }
      }
      if (panel.type === 'row') continue;
      expect(panel.datasource?.uid, panel.title).toBe(uid);
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const t of panel.targets ?? []) expect(t.datasource?.uid ?? uid).toBe(uid);
    }
    for (const variable of dashboard.templating.list) expect(variable.datasource.uid).toBe(uid);
  });

  it('queries only metrics a node exports, and shows what operators watch', async () => {
    const node = await startTestNode();
    try {
      const exported = exportedNames(await (await fetch(`${node.url}/metrics`)).text());
      const used = new Set([
        ...dashboardQueries(dashboard).flatMap((e) => [...metricNamesIn(e)]),
        ...dashboard.templating.list.flatMap((v) => [...metricNamesIn(v.definition)]),
      ]);
      // `up` is Prometheus's own series for every target.
      expect([...used].filter((name) => name !== 'up' && !exported.has(name))).toEqual([]);
      for (const required of [
        'waiting_room_queue_length',
        'waiting_room_admissions_total',
        'waiting_room_active_sessions',
        'waiting_room_websocket_connections',
        'waiting_room_positions_expired_total',
        'waiting_room_http_request_duration_seconds_bucket',
        'waiting_room_websocket_join_duration_seconds_bucket',
        'waiting_room_event_bus_connected',
        'waiting_room_store_operation_duration_seconds_bucket',
      ]) {
        expect(used, required).toContain(required);
      }
    } finally {
      await node.close();
    }
  });
});
