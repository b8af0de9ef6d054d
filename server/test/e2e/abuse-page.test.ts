import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, slot, watchErrors } from '../support/browser.js';
import { createQueue, startTestNode, uniqueQueueId, type TestNode } from '../support/nodes.js';

/** The default waiting page in Chromium solves a proof-of-work join challenge with WebCrypto. */
describe('waiting page with a join challenge (embedded)', () => {
  let node: TestNode;
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
    node = await startTestNode({ env: { JOIN_CHALLENGE: 'pow', JOIN_CHALLENGE_DIFFICULTY: '12' } });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await node?.close();
  });

  const solved = async () => {
    const text = await (await fetch(`${node.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('waiting_room_join_challenges_total{outcome="solved"}'));
    return Number(line?.split(' ').at(-1) ?? 0);
  };

  it('solves the challenge in the page and shows the place', async () => {
    const q = uniqueQueueId('powpage');
    await createQueue(node, { id: q, status: 'paused' });
    const before = await solved();
    const page = await browser.newPage();
    const errors = watchErrors(page);
    await page.goto(`${node.url}/queues/${q}`);
    await expect.poll(() => slot(page, 'position'), { timeout: 15_000 }).toBe('1');
    expect(await solved()).toBe(before + 1);
    expect(errors).toEqual([]);
    await page.close();
  });
});
