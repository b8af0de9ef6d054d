import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config/config.js';
import { startNode, type WaitingRoomNode } from '../../src/app.js';
import { createLogger } from '../../src/observability/logger.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * Each test file that starts Redis-backed nodes gives them a database of its own: every node's
 * admission loop serves every queue in its database, and a node of another file (another
 * process, another in-process bus) would admit visitors whose events this file never sees.
 */
export function redisUrlFor(db: number): string {
  usedRedisDbs.add(db);
  const url = new URL(REDIS_URL);
  url.pathname = `/${db}`;
  return url.toString();
}
export const usedRedisDbs = new Set<number>();
export const ADMIN_KEY = 'test-admin-key-0123456789';
export const TICKET_SECRET = 'test-ticket-secret-0123456789-0123456789';

/** One RSA key for every node a test process starts, as a deployment shares its key file. */
export const SIGNING_KEY_FILE = (() => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const file = join(mkdtempSync(join(tmpdir(), 'wr-test-')), 'signing.pem');
  writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  return file;
})();

/** Queue ids this test file made; the setup file removes them from Redis afterwards. */
export const createdQueueIds = new Set<string>();

/** A unique queue id per test, so suites run in parallel against one Redis. */
export function uniqueQueueId(prefix = 't'): string {
  const id = `${prefix}-${randomUUID().slice(0, 12)}`;
  createdQueueIds.add(id);
  return id;
}

export interface TestNode extends WaitingRoomNode {
  url: string;
}

/** Starts a node on a random port; with `redisDb` on the real Redis (that database), otherwise embedded. */
export async function startTestNode(
  opts: { redisDb?: number; env?: Record<string, string>; clock?: () => number } = {},
): Promise<TestNode> {
  const config: Readonly<Config> = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ADMIN_API_KEY: ADMIN_KEY,
    TICKET_SECRET,
    IP_SALT: 'test-salt-0123',
    JWT_PRIVATE_KEY_FILE: SIGNING_KEY_FILE,
    ADMISSION_TICK_MS: '50',
    SWEEP_INTERVAL_MS: '200',
    ENQUEUE_RATE_LIMIT_PER_MINUTE: '0',
    MAX_POSITIONS_PER_IP: '0',
    POSITION_TICK_MS: '200',
    NODE_LEASE_TTL_MS: '2000',
    WS_MAX_SOCKETS_PER_IP: '100000',
    STATUS_RATE_LIMIT_PER_MINUTE: '0',
    ...(opts.redisDb !== undefined ? { DRAGONFLYDB_URL: redisUrlFor(opts.redisDb) } : {}),
    ...opts.env,
  });
  const node = await startNode({ config, logger: createLogger(config.logLevel), clock: opts.clock });
  return Object.assign(node, { url: `http://127.0.0.1:${node.port}` });
}

export interface Json {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** fetch + JSON, never throwing on an HTTP error status. */
export async function call(
  url: string,
  init: { method?: string; body?: unknown; rawBody?: string; token?: string; headers?: Record<string, string> } = {},
): Promise<Json> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  let body: string | undefined = init.rawBody;
  if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(url, { method: init.method ?? 'GET', headers, body });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    parsed = { text };
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

export async function createQueue(node: { url: string }, settings: Record<string, unknown>): Promise<Json> {
  const res = await call(`${node.url}/api/v1/admin/queues`, {
    method: 'POST',
    body: settings,
    headers: { 'x-admin-key': ADMIN_KEY },
  });
  if (res.status !== 201) throw new Error(`create queue failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res;
}

export async function enqueue(node: { url: string }, queueId: string, body: unknown = {}, headers: Record<string, string> = {}) {
  return call(`${node.url}/api/v1/queues/${queueId}/enqueue`, { method: 'POST', body, headers });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` returns a value or the time is up. */
export async function waitFor<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, stepMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('waitFor: timed out');
    await sleep(stepMs);
  }
}
