/**
 * The `reject` method as a visitor sees it, in real Chromium against an embedded node: a queue
 * closed before the page loads shows the closed page; a page opened while the queue was open
 * shows the closed text in its counter when its join is refused (QUEUE_CLOSED, close 4403).
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, slot } from '../support/browser.js';
import { ADMIN_KEY, call, createQueue, startTestNode, uniqueQueueId, type TestNode } from '../support/nodes.js';

describe('closed queue page in Chromium', () => {
  let browser: Browser;
  let node: TestNode;
  beforeAll(async () => {
    browser = await launchChromium();
    node = await startTestNode();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await node?.close();
  });

  it('says the queue is closed, on the page and in the counter', async () => {
    const closed = uniqueQueueId('closed');
    await createQueue(node, { id: closed, queueing_method: 'reject' });
    const page = await browser.newPage();
    await page.goto(`${node.url}/queues/${closed}?lang=en`);
    expect(await page.locator('h1').textContent()).toBe('This queue is closed');
    await expect.poll(() => slot(page, 'state'), { timeout: 10_000 }).toMatch(/closed to new visitors/);

    // Opened while open (paused), then closed: a reload's join is refused and the counter says why.
    const q = uniqueQueueId('closing');
    await createQueue(node, { id: q, status: 'paused' });
    const live = await browser.newPage();
    await live.goto(`${node.url}/queues/${q}?lang=de`);
    expect(await live.locator('h1').textContent()).toBe('Sie sind in der Warteschlange');
    await expect.poll(() => slot(live, 'position'), { timeout: 10_000 }).toBe('1');
    await call(`${node.url}/api/v1/admin/queues/${q}`, { method: 'PATCH', body: { queueing_method: 'reject' }, headers: { 'x-admin-key': ADMIN_KEY } });
    // The visitor who waits keeps the place: still position 1 under reject.
    await live.reload();
    await expect.poll(() => slot(live, 'position'), { timeout: 10_000 }).toBe('1');
    const newcomer = await browser.newPage();
    await newcomer.goto(`${node.url}/queues/${q}?lang=de`);
    expect(await newcomer.locator('h1').textContent()).toBe('Diese Warteschlange ist geschlossen');
    await expect.poll(() => slot(newcomer, 'state'), { timeout: 10_000 }).toMatch(/nimmt niemanden neu auf/);
    await newcomer.screenshot({ path: '/tmp/wr-closed-queue.png' });
  });
});
