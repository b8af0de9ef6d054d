/**
 * Settings of every k6 scenario, read once from `__ENV` (k6 -e NAME=value or the environment).
 * A bad value stops the run at init with a message naming the variable, instead of a load test
 * that silently measures the wrong thing.
 */

function raw(name: string): string | undefined {
  const value = __ENV[name];
  return value === undefined || value === '' ? undefined : value;
}

export function str(name: string, fallback?: string): string {
  const value = raw(name) ?? fallback;
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
}

export function int(name: string, fallback: number, min = 0): number {
  const text = raw(name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got "${text}"`);
  return n;
}

/** A k6 duration such as `30s`, `5m`, `1h30m` (checked here so a typo fails at init). */
export function duration(name: string, fallback: string): string {
  const value = raw(name) ?? fallback;
  if (!/^(\d+(ms|s|m|h))+$/.test(value)) throw new Error(`${name} must be a duration like 30s or 5m, got "${value}"`);
  return value;
}

/** Seconds in a k6 duration string. */
export function seconds(text: string): number {
  let total = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)(ms|s|m|h)/g)) {
    const factor = unit === 'ms' ? 0.001 : unit === 's' ? 1 : unit === 'm' ? 60 : 3600;
    total += Number(n) * factor;
  }
  return total;
}

const QUEUE_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export interface Target {
  /** http(s)://host[:port] of the deployment (no trailing slash). */
  baseUrl: string;
  /** ws(s)://host[:port]; derived from baseUrl unless WS_URL is set. */
  wsUrl: string;
  queueId: string;
  /** X-Admin-Key, only needed by scenarios that change the queue. */
  adminKey: string | undefined;
}

export function target(): Target {
  const baseUrl = str('BASE_URL', 'http://127.0.0.1:8080').replace(/\/+$/, '');
  if (!/^https?:\/\//.test(baseUrl)) throw new Error(`BASE_URL must start with http:// or https://, got "${baseUrl}"`);
  const wsUrl = (raw('WS_URL') ?? baseUrl.replace(/^http/, 'ws')).replace(/\/+$/, '');
  if (!/^wss?:\/\//.test(wsUrl)) throw new Error(`WS_URL must start with ws:// or wss://, got "${wsUrl}"`);
  const queueId = str('QUEUE_ID', 'k6-load');
  if (!QUEUE_ID.test(queueId)) throw new Error(`QUEUE_ID must match ${QUEUE_ID.source}, got "${queueId}"`);
  return { baseUrl, wsUrl, queueId, adminKey: raw('ADMIN_KEY') };
}

export function socketUrl(t: Target): string {
  return `${t.wsUrl}/ws/queues/${t.queueId}`;
}

export function apiUrl(t: Target, path: string): string {
  return `${t.baseUrl}/api/v1${path}`;
}
