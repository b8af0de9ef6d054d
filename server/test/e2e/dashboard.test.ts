import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSwarm, type Swarm } from '../../../loadtest/lib/swarm.js';
import { nowMs } from '../../../loadtest/lib/ws-visitor.js';
import { launchChromium, watchErrors } from '../support/browser.js';
import { ADMIN_KEY, call, createQueue, enqueue, sleep, startTestNode, uniqueQueueId, waitFor, type TestNode } from '../support/nodes.js';
import { wsUrl } from '../support/ws-client.js';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const admin = { 'x-admin-key': ADMIN_KEY };
/** `DASHBOARD_SCREENSHOT=docs/dashboard.png` refreshes the README's picture; otherwise it goes to a temp dir. */
const SCREENSHOT = process.env.DASHBOARD_SCREENSHOT ?? join(tmpdir(), `wr-dashboard-${process.pid}.png`);

/** The number a `data-stat` slot shows ("1,234" → 1234; "–" → NaN). */
async function stat(page: Page, name: string): Promise<number> {
  const text = (await page.locator(`[data-stat="${name}"]`).first().textContent()) ?? '';
  const digits = text.replace(/[^\d.]/g, '');
  return digits === '' ? NaN : Number(digits);
}

function swarm(node: TestNode, queueId: string, count: number, ratePerSecond: number): Swarm {
  return startSwarm({
    urls: [wsUrl(node.url, queueId)],
    localAddresses: [],
    count,
    firstIndex: 0,
    concurrency: 20,
    ratePerSecond,
    join: true,
    openTimeoutMs: 30_000,
    handshakeTimeoutMs: 5_000,
    timeline: { epochMs: nowMs(), bucketMs: 1_000, buckets: 600 },
  });
}

/**
 * The operator dashboard in Chromium against two nodes on one Redis and one NATS: the page is
 * served by node A while every visitor joins on node B, so each figure it shows has to come from
 * the store and the event stream, not from the node the page hit.
 */
describe('operator dashboard in Chromium (two nodes)', () => {
  let browser: Browser;
  let nodeA: TestNode;
  let nodeB: TestNode;
  const swarms: Swarm[] = [];
  const prefix = `wrdash${Date.now().toString(36)}`;

  beforeAll(async () => {
    const env = { NATS_URL, NATS_STREAM: prefix.toUpperCase(), NATS_SUBJECT_PREFIX: prefix };
    [browser, nodeA, nodeB] = await Promise.all([
      launchChromium(),
      startTestNode({ redisDb: 12, env }),
      startTestNode({ redisDb: 12, env }),
    ]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(swarms.map((s) => s.close(5_000)));
    await browser?.close();
    await Promise.all([nodeA?.close(), nodeB?.close()]);
  });

  it('refuses a wrong key, keeps the right one out of the URL, and serves a locked-down page', async () => {
    const res = await fetch(`${nodeA.url}/admin`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${nodeA.url}/admin`);
    await page.fill('#key', 'not-the-admin-key-at-all');
    await page.click('#login-form button[type="submit"]');
    await expect.poll(() => page.locator('#login-error').textContent(), { timeout: 10_000 }).toMatch(/refused/);
    expect(await page.locator('#board').isHidden()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);

    await page.fill('#key', ADMIN_KEY);
    await page.click('#login-form button[type="submit"]');
    await page.locator('#board').waitFor({ state: 'visible', timeout: 10_000 });
    expect(page.url()).toBe(`${nodeA.url}/admin`);
    expect(await page.evaluate(() => Object.values(sessionStorage))).toEqual([ADMIN_KEY]);
    // A reload signs in again from the tab's storage, without asking.
    await page.reload();
    await page.locator('#board').waitFor({ state: 'visible', timeout: 10_000 });
    // The page's script and styles obey its CSP; the refused key was logged as nothing else.
    expect(errors.filter((e) => !/401|Unauthorized/i.test(e))).toEqual([]);
    await context.close();
  }, 60_000);

  it('shows the queue live across nodes: joins, admissions, a rate change, a pause, a revoke', async () => {
    const q = uniqueQueueId('dash');
    await createQueue(nodeA, { id: q, name: 'Concert tickets', status: 'paused', admission_rate_per_minute: 30, max_active_users: 1_000 });
    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${nodeA.url}/admin`);
    await page.fill('#key', ADMIN_KEY);
    await page.click('#login-form button[type="submit"]');
    await page.locator(`#queue-select option[value="${q}"]`).waitFor({ state: 'attached', timeout: 10_000 });
    await page.selectOption('#queue-select', q);
    await expect.poll(() => page.locator('[data-stat="status"]').first().textContent()).toMatch(/Paused/);

    // 1. A load generator joins 60 visitors on node B: the page on node A sees the count rise.
    const seen = new Set<number>();
    const watch = setInterval(() => {
      stat(page, 'waiting').then((n) => Number.isFinite(n) && seen.add(n), () => undefined);
    }, 200);
    swarms.push(swarm(nodeB, q, 60, 15));
    await expect.poll(() => stat(page, 'waiting'), { timeout: 20_000 }).toBe(60);
    clearInterval(watch);
    expect([...seen].filter((n) => n > 0 && n < 60).length).toBeGreaterThanOrEqual(3); // it rose step by step
    // Sockets are node B's, reported over NATS; node A holds none.
    await expect.poll(() => stat(page, 'sockets'), { timeout: 10_000 }).toBe(60);
    expect(await stat(page, 'socket-nodes')).toBe(1);
    await expect.poll(() => stat(page, 'joins'), { timeout: 10_000 }).toBeGreaterThan(0);

    // 2. Resume from the page: admissions at 30 / min, the count falls.
    await page.click('[data-set-status="active"]');
    await expect.poll(() => page.locator('#control-result').textContent()).toMatch(/status set to active/);
    await expect.poll(() => page.locator('[data-stat="status"]').first().textContent()).toMatch(/Active/);
    await expect.poll(() => stat(page, 'waiting'), { timeout: 15_000 }).toBeLessThan(58);
    await expect.poll(() => stat(page, 'admitted-minute'), { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    const slowPace = await waitFor(async () => {
      const pace = await stat(page, 'pace');
      return Number.isFinite(pace) ? pace : undefined;
    });
    expect(slowPace).toBeLessThanOrEqual(60); // 30 / min, give or take the 2 s bucket

    // 3. Raise the rate from the form: admissions per minute follow.
    await page.fill('#rate-input', '600');
    await page.fill('#max-active-input', '1000');
    await page.click('#limits-form button[type="submit"]');
    await expect.poll(() => page.locator('#control-result').textContent()).toMatch(/600 admissions/);
    await expect.poll(() => stat(page, 'rate'), { timeout: 5_000 }).toBe(600);
    await expect.poll(() => stat(page, 'pace'), { timeout: 15_000 }).toBeGreaterThan(120);
    await expect.poll(() => stat(page, 'waiting'), { timeout: 20_000 }).toBe(0);
    await expect.poll(() => stat(page, 'admitted-minute'), { timeout: 10_000 }).toBeGreaterThanOrEqual(40);
    expect(await stat(page, 'active')).toBe(60);
    // The admissions chart has drawn the admitted series and the configured rate.
    expect(await page.locator('#chart-admissions path.admitted').count()).toBe(1);
    expect(await page.locator('#chart-admissions path.rate').count()).toBe(1);

    // 4. Down to 120 / min with a steady stream of newcomers: the picture under load (README's screenshot).
    await page.fill('#rate-input', '120');
    await page.click('#limits-form button[type="submit"]');
    await expect.poll(() => stat(page, 'rate'), { timeout: 5_000 }).toBe(120);
    swarms.push(swarm(nodeB, q, 150, 5));
    await expect.poll(() => stat(page, 'waiting'), { timeout: 30_000 }).toBeGreaterThan(40);
    await sleep(6_000); // a few more history samples, so the charts show the whole story
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: false });

    // 5. Pause: admissions stop, the page says so within seconds.
    await page.click('[data-set-status="paused"]');
    await expect.poll(() => page.locator('[data-stat="status"]').first().textContent()).toMatch(/Paused/);
    await expect.poll(() => stat(page, 'eta'), { timeout: 5_000 }).toBeNaN(); // no ETA while paused
    await expect.poll(() => stat(page, 'pace'), { timeout: 20_000 }).toBe(0);
    const admittedAtPause = (await call(`${nodeB.url}/api/v1/admin/queues/${q}/stats`, { headers: admin })).body.totals as { admitted: number };
    const waitingBefore = await stat(page, 'waiting');
    await sleep(3_000);
    const stats = await call(`${nodeB.url}/api/v1/admin/queues/${q}/stats`, { headers: admin });
    expect((stats.body.totals as { admitted: number }).admitted).toBe(admittedAtPause.admitted);
    expect(await stat(page, 'pace')).toBe(0);
    expect(await stat(page, 'waiting')).toBeGreaterThanOrEqual(waitingBefore);
    // One picture: what the page on node A shows is what node B's admin API says.
    await expect.poll(async () => (await stat(page, 'waiting')) === Number((await call(`${nodeB.url}/api/v1/admin/queues/${q}/stats`, { headers: admin })).body.queue_length), { timeout: 5_000 }).toBe(true);

    // 6. Revoke a session from the page: active sessions drop by one, the activity list says so.
    await call(`${nodeA.url}/api/v1/admin/queues/${q}`, { method: 'PATCH', body: { status: 'active', admission_rate_per_minute: 6000 }, headers: admin });
    const visitor = await enqueue(nodeB, q);
    const sessionId = await waitFor(async () => {
      const s = await call(`${nodeB.url}/api/v1/queues/${q}/status`, { token: String(visitor.body.token) });
      return s.body.status === 'admitted' ? String(s.body.session_id) : undefined;
    }, 30_000, 200);
    await page.click('[data-set-status="paused"]');
    await expect.poll(() => page.locator('[data-stat="status"]').first().textContent()).toMatch(/Paused/);
    await sleep(1_500);
    const activeBefore = await stat(page, 'active');
    await page.fill('#session-input', sessionId);
    await page.click('#revoke-form button[type="submit"]');
    await expect.poll(() => page.locator('#control-result').textContent()).toMatch(/revoked/);
    await expect.poll(() => stat(page, 'active'), { timeout: 5_000 }).toBe(activeBefore - 1);
    await expect.poll(() => page.locator('#activity').textContent()).toContain(`session ${sessionId} revoked`);
    // Revoking it again is refused, and the page shows the API's reason.
    await page.fill('#session-input', sessionId);
    await page.click('#revoke-form button[type="submit"]');
    await expect.poll(() => page.locator('#control-result').textContent()).toMatch(/No active session/);

    // 7. Maintenance: newcomers are turned away.
    await page.click('[data-set-status="maintenance"]');
    await expect.poll(() => page.locator('[data-stat="status"]').first().textContent()).toMatch(/Maintenance/);
    expect((await enqueue(nodeB, q)).status).toBe(503);

    // 8. The history is the store's: a page on node B (which never had a viewer) draws the same past at once.
    const pageB = await context.newPage();
    const errorsB = watchErrors(pageB);
    await pageB.goto(`${nodeB.url}/admin`); // another origin (port) and tab: it asks for the key again
    await pageB.fill('#key', ADMIN_KEY);
    await pageB.click('#login-form button[type="submit"]');
    await pageB.locator(`#queue-select option[value="${q}"]`).waitFor({ state: 'attached', timeout: 10_000 });
    await pageB.selectOption('#queue-select', q);
    const pointsOf = (p: Page) => p.locator('#chart-waiting path.waiting').getAttribute('d').then((d) => (d ?? '').split(/[ML]/).length - 1);
    const pointsA = await pointsOf(page);
    await expect.poll(() => pointsOf(pageB), { timeout: 5_000 }).toBeGreaterThanOrEqual(pointsA - 2);
    expect(pointsA).toBeGreaterThan(5);
    // The one console error: Chromium logs the refused revoke's 404.
    expect([...errors, ...errorsB].filter((e) => !/status of 404/.test(e))).toEqual([]);
    expect(errors.filter((e) => /status of 404/.test(e))).toHaveLength(1);
    await context.close();
  }, 150_000);
});
