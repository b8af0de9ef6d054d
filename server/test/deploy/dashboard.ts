import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/process.js';

/** The parts of deploy/grafana/dashboards/waiting-room.json the deploy tests read. */
export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type: string; uid: string };
  targets?: { refId: string; expr: string; datasource?: { uid: string } }[];
}

export interface Dashboard {
  uid: string;
  title: string;
  panels: DashboardPanel[];
  templating: { list: { name: string; definition: string; datasource: { uid: string } }[] };
}

export const DASHBOARD_FILE = join(REPO_ROOT, 'deploy/grafana/dashboards/waiting-room.json');

export function loadDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
}

/** Every PromQL expression of the dashboard's panels. */
export function dashboardQueries(dashboard: Dashboard): string[] {
  return dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
}

/** A dashboard query as Prometheus itself can run it: Grafana's variables filled in. */
export function asPlainPromql(expr: string): string {
  return expr.replaceAll('$__rate_interval', '1m').replaceAll('$queue_id', '.*');
}
