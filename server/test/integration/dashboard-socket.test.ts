/**
 * The dashboard's feed socket and files on an embedded node (memory store, in-process bus: no
 * Redis database needed): sign-in by first message, refusals, and the snapshot's figures.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE } from '../../src/realtime/protocol.js';
import { ADMIN_KEY, call, createQueue, enqueue, startTestNode, uniqueQueueId, waitFor, type TestNode } from '../support/nodes.js';
import { TestSocket, wsUrl } from '../support/ws-client.js';

const feedUrl = (node: TestNode) => `${node.url.replace('http', 'ws')}/ws/admin/dashboard`;

interface QueueView {
  queue_id: string;
  status: string;
  waiting: number;
  connected_sockets: number;
  socket_nodes: number;
  admitted_last_minute: number;
  eta_seconds_for_new_visitor: number | null;
}

function latestView(s: TestSocket, queueId: string): QueueView | undefined {
  const snapshots = s.of('snapshot');
  for (let i = snapshots.length - 1; i >= 0; i--) {
    const view = (snapshots[i]!.data.queues as QueueView[]).find((q) => q.queue_id === queueId);
    if (view) return view;
  }
  return undefined;
}

describe('dashboard feed socket (embedded node)', () => {
  let node: TestNode;
  let keyless: TestNode;
  beforeAll(async () => {
    [node, keyless] = await Promise.all([startTestNode(), startTestNode({ env: { ADMIN_API_KEY: '' } })]);
  });
  afterAll(async () => {
    await Promise.all([node?.close(), keyless?.close()]);
  });

  it('serves the page and its files from memory, with caching and a strict CSP', async () => {
    for (const [path, type] of [
      ['/admin', 'text/html'],
      ['/admin/dashboard.js', 'text/javascript'],
      ['/admin/dashboard.css', 'text/css'],
    ] as const) {
      const res = await fetch(`${node.url}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toContain(type);
      expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      const etag = res.headers.get('etag');
      expect(etag).toBeTruthy();
      expect((await fetch(`${node.url}${path}`, { headers: { 'if-none-match': String(etag) } })).status).toBe(304);
    }
    expect((await call(`${node.url}/admin/other.js`)).status).toBe(404);
  });

  it('refuses a wrong key, a missing key and anything before auth, sending nothing else', async () => {
    const wrong = await TestSocket.open(feedUrl(node));
    wrong.send({ type: 'auth', data: { key: 'not-the-admin-key-0000' } });
    expect(await wrong.closed).toBe(CLOSE.UNAUTHORIZED);
    expect(wrong.frames).toEqual([{ type: 'error', data: { code: 'UNAUTHORIZED', message: 'Invalid admin key' } }]);

    const empty = await TestSocket.open(feedUrl(node));
    empty.send({ type: 'auth', data: {} });
    expect(await empty.closed).toBe(CLOSE.UNAUTHORIZED);
    expect(empty.frames.map((f) => f.data.code)).toEqual(['UNAUTHORIZED']);

    const early = await TestSocket.open(feedUrl(node));
    early.send({ type: 'subscribe', data: {} });
    expect(await early.closed).toBe(CLOSE.BAD_REQUEST);
    expect(early.frames.map((f) => f.data.code)).toEqual(['INVALID_REQUEST']);

    const garbage = await TestSocket.open(feedUrl(node));
    garbage.sendRaw('{not json');
    expect(await garbage.closed).toBe(CLOSE.BAD_REQUEST);

    // With the admin API off there is no key to give.
    const off = await TestSocket.open(feedUrl(keyless));
    expect(await off.closed).toBe(CLOSE.UNAUTHORIZED);
    expect(off.frames.map((f) => f.data.code)).toEqual(['FORBIDDEN']);
  });

  it('after the right key: ready, history, and snapshots that follow the queue and its sockets', async () => {
    const q = uniqueQueueId('feed');
    await createQueue(node, { id: q, status: 'paused', admission_rate_per_minute: 60 });
    await enqueue(node, q); // a REST visitor: waiting, no socket
    const visitor = await TestSocket.open(wsUrl(node.url, q));
    visitor.send({ type: 'join', data: {} });

    const feed = await TestSocket.open(feedUrl(node));
    feed.send({ type: 'auth', data: { key: ADMIN_KEY } });
    await waitFor(() => (feed.of('ready').length > 0 ? true : undefined));
    expect(feed.frames[0]!.type).toBe('ready');
    await waitFor(() => (feed.of('history').some((f) => f.data.queue_id === q) ? true : undefined));
    const paused = await waitFor(() => {
      const v = latestView(feed, q);
      return v && v.waiting === 2 && v.connected_sockets === 1 ? v : undefined;
    }, 10_000);
    expect(paused).toMatchObject({ status: 'paused', socket_nodes: 1, eta_seconds_for_new_visitor: null });

    // A control event shows at once (in well under the tick), listed as an event too.
    const before = feed.frames.length;
    await call(`${node.url}/api/v1/admin/queues/${q}`, { method: 'PATCH', body: { status: 'active' }, headers: { 'x-admin-key': ADMIN_KEY } });
    await waitFor(() => (feed.frames.slice(before).some((f) => f.type === 'event' && f.data.type === 'queue.resumed') ? true : undefined));
    const admitted = await waitFor(() => {
      const v = latestView(feed, q);
      return v && v.waiting === 0 ? v : undefined;
    }, 10_000);
    expect(admitted.admitted_last_minute).toBe(2);
    // The admitted socket is gone: this node's next report says so.
    await waitFor(() => (latestView(feed, q)?.connected_sockets === 0 ? true : undefined), 10_000);
    expect(await visitor.closed).toBe(CLOSE.ADMITTED);

    // Nothing may follow the auth message.
    feed.send({ type: 'auth', data: { key: ADMIN_KEY } });
    expect(await feed.closed).toBe(CLOSE.BAD_REQUEST);
  }, 30_000);
});
