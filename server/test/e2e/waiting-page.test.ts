import { createServer, type Server } from 'node:http';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, slot, watchErrors } from '../support/browser.js';
import { ADMIN_KEY, call, createQueue, enqueue, redisUrlFor, SIGNING_KEY_FILE, TICKET_SECRET, uniqueQueueId } from '../support/nodes.js';
import { freePort, runProcess, signalGroup, waitForHealth, type ServerProcess } from '../support/process.js';

const admin = { 'x-admin-key': ADMIN_KEY };

/** The default waiting page in real Chromium against a real server (Redis-backed, so it can restart). */
describe('waiting page in Chromium', () => {
  let browser: Browser;
  let server: ServerProcess;
  let port: number;
  let origin: Server;
  let originUrl: string;
  const node = { url: '' };

  /** The server as its own process, as deployed: a restart is a new process on the same port. */
  const startServer = async () => {
    server = runProcess('node', ['--import', 'tsx', 'server/src/main.ts'], {
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      DRAGONFLYDB_URL: redisUrlFor(10),
      ADMIN_API_KEY: ADMIN_KEY,
      TICKET_SECRET,
      JWT_PRIVATE_KEY_FILE: SIGNING_KEY_FILE,
      IP_SALT: 'test-salt-0123',
      ENQUEUE_RATE_LIMIT_PER_MINUTE: '0',
      MAX_POSITIONS_PER_IP: '0',
      POSITION_TICK_MS: '250',
    });
    await waitForHealth(node.url, server);
  };
  const restartServer = async () => {
    signalGroup(server, 'SIGTERM');
    await server.exited;
    await startServer();
  };

  beforeAll(async () => {
    browser = await launchChromium();
    port = await freePort();
    node.url = `http://127.0.0.1:${port}`;
    await startServer();
    origin = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>shop</title><h1>Checkout</h1>');
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    const address = origin.address();
    originUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/checkout`;
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    signalGroup(server, 'SIGTERM');
    await server?.exited;
    origin?.close();
  });

  const patch = (q: string, body: object) => call(`${node.url}/api/v1/admin/queues/${q}`, { method: 'PATCH', body, headers: admin });
  const newQueue = async () => {
    const q = uniqueQueueId('page');
    await createQueue(node, { id: q, status: 'paused', target_url: originUrl, admission_rate_per_minute: 600 });
    return q;
  };

  it('shows the position; a reload and a second tab keep the same place', async () => {
    const q = await newQueue();
    await enqueue(node, q); // someone ahead
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${node.url}/queues/${q}`);
    await expect.poll(() => slot(page, 'position'), { timeout: 10_000 }).toBe('2');
    expect(await page.locator('[aria-live]').count()).toBeGreaterThan(0);
    expect(await page.locator('main').count()).toBe(1);
    const ticket = await page.evaluate(() => JSON.stringify(Object.entries(localStorage)));

    await page.reload();
    await expect.poll(() => slot(page, 'position'), { timeout: 10_000 }).toBe('2');
    expect(await page.evaluate(() => JSON.stringify(Object.entries(localStorage)))).not.toBe('[]');

    const second = await context.newPage();
    const errors2 = watchErrors(second);
    await second.goto(`${node.url}/queues/${q}`);
    await expect.poll(() => slot(second, 'position'), { timeout: 10_000 }).toBe('2');
    const stats = await call(`${node.url}/api/v1/admin/queues/${q}/stats`, { headers: admin });
    expect(stats.body.queue_length).toBe(2); // one place for the browser, not three
    expect(ticket).not.toBe('[]');
    expect([...errors, ...errors2]).toEqual([]);
    await context.close();
  }, 60_000);

  it('counts down as others are admitted, then lands on the origin with a verifiable token', async () => {
    const q = await newQueue();
    for (let i = 0; i < 5; i++) await enqueue(node, q);
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${node.url}/queues/${q}`);
    await expect.poll(() => slot(page, 'position'), { timeout: 10_000 }).toBe('6');
    const seen = new Set<string>();
    const watcher = setInterval(() => {
      slot(page, 'position').then((p) => p && seen.add(p), () => undefined);
    }, 50);
    await patch(q, { status: 'active', admission_rate_per_minute: 60 }); // one a second after a burst of two
    await page.waitForURL((url) => url.href.startsWith(originUrl), { timeout: 30_000 });
    clearInterval(watcher);
    expect(seen.size).toBeGreaterThan(2); // the counter fell step by step
    const token = new URL(page.url()).searchParams.get('wr_token');
    expect(token).toBeTruthy();
    const jwks = createRemoteJWKSet(new URL(`${node.url}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(String(token), jwks, { issuer: 'waiting-room', audience: 'waiting-room:origin' });
    expect(payload.qid).toBe(q);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('recovers its place by itself when the server restarts mid-wait', async () => {
    const q = await newQueue();
    await enqueue(node, q);
    await enqueue(node, q);
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${node.url}/queues/${q}`);
    await expect.poll(() => slot(page, 'position'), { timeout: 10_000 }).toBe('3');
    await restartServer();
    // Back on its own, in the same place (a new place would make the queue four long).
    await expect.poll(() => slot(page, 'state'), { timeout: 20_000 }).toMatch(/in line/);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await slot(page, 'position')).toBe('3');
    expect((await call(`${node.url}/api/v1/admin/queues/${q}/stats`, { headers: admin })).body.queue_length).toBe(3);
    // The SDK reconnects with backoff and resumes the same place; admissions then reach it.
    await patch(q, { status: 'active' });
    await page.waitForURL((url) => url.href.startsWith(originUrl), { timeout: 40_000 });
    expect(new URL(page.url()).searchParams.get('wr_token')).toBeTruthy();
    // While the server was down the browser logged its failed connection attempts; nothing else.
    expect(errors.filter((e) => !/WebSocket connection to|Failed to load resource|ERR_CONNECTION_REFUSED/.test(e))).toEqual([]);
    await context.close();
  }, 90_000);

  it('gets the visitor admitted over REST polling when WebSockets are blocked', async () => {
    const q = await newQueue();
    const context = await browser.newContext();
    await context.addInitScript(() => {
      // A network that blocks WebSockets: every socket fails to connect.
      const Blocked = function () {
        throw new Error('WebSockets are blocked here');
      };
      Object.defineProperty(window, 'WebSocket', { value: Blocked, configurable: true, writable: true });
    });
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${node.url}/queues/${q}`);
    await expect.poll(() => slot(page, 'position'), { timeout: 15_000 }).toBe('1');
    const transport = await page.evaluate(() => (document.querySelector('waiting-room-position') as unknown as { room?: { transport?: string } }).room?.transport);
    expect(transport).toBe('polling');
    await patch(q, { status: 'active' });
    await page.waitForURL((url) => url.href.startsWith(originUrl), { timeout: 40_000 });
    expect(new URL(page.url()).searchParams.get('wr_token')).toBeTruthy();
    expect(errors).toEqual([]);
    await context.close();
  }, 90_000);
});
