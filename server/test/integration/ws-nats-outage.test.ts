import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WaitingRoomEvent } from '../../src/events/types.js';
import { CLOSE } from '../../src/realtime/protocol.js';
import { ADMIN_KEY, call, createQueue, startTestNode, uniqueQueueId, waitFor, type TestNode } from '../support/nodes.js';
import { startNatsServer, type NatsServerProcess } from '../support/nats.js';
import { TestSocket, wsUrl } from '../support/ws-client.js';

const admin = { 'x-admin-key': ADMIN_KEY };

/** NATS is cut mid-queue: admissions go on, every visitor still learns it was admitted, and events flow again once NATS is back. */
describe('NATS outage', () => {
  let nats: NatsServerProcess;
  let nodes: TestNode[];
  const seenByB: WaitingRoomEvent[] = [];
  beforeAll(async () => {
    nats = await startNatsServer();
    nodes = await Promise.all([0, 1].map(() => startTestNode({ redisDb: 6, env: { NATS_URL: nats.url } })));
    nodes[1]!.bus.subscribe((e) => seenByB.push(e));
  }, 30_000);
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.close()));
    await nats.dispose();
  });

  const health = async (n: TestNode) => (await call(`${n.url}/health`)).body as { status: string; components: Record<string, string> };

  it('admits through the outage and recovers when NATS returns', async () => {
    const [a, b] = nodes as [TestNode, TestNode];
    await waitFor(async () => ((await health(a)).components.nats === 'healthy' ? true : undefined));
    const q = uniqueQueueId('natscut');
    await createQueue(a, { id: q, status: 'paused' });
    const sockets: TestSocket[] = [];
    for (let i = 0; i < 40; i++) {
      const s = await TestSocket.open(wsUrl(nodes[i % 2]!.url, q));
      await s.join();
      sockets.push(s);
    }

    await nats.stop('SIGKILL');
    await waitFor(async () => ((await health(a)).components.nats === 'unhealthy' ? true : undefined));
    const h = await health(b);
    expect(h.status).toBe('healthy'); // the store is up: the node serves on, degraded
    expect(h.components.nats).toBe('unhealthy');

    await call(`${b.url}/api/v1/admin/queues/${q}`, { method: 'PATCH', body: { status: 'active', admission_rate_per_minute: 1_200 }, headers: admin });
    // Every visitor, on either node, learns of its admission without NATS.
    await waitFor(() => (sockets.every((s) => s.closeCode !== null) ? true : undefined), 20_000, 100);
    for (const s of sockets) {
      expect(s.closeCode).toBe(CLOSE.ADMITTED);
      expect(s.of('admitted')).toHaveLength(1);
    }
    const stats = await call(`${a.url}/api/v1/admin/queues/${q}/stats`, { headers: admin });
    expect(stats.body).toMatchObject({ queue_length: 0 });
    expect((stats.body.totals as Record<string, number>).admitted).toBe(40);

    await nats.restart();
    await waitFor(async () => ((await health(a)).components.nats === 'healthy' ? true : undefined), 15_000);
    await waitFor(async () => ((await health(b)).components.nats === 'healthy' ? true : undefined), 15_000);
    // Events published by node a reach node b again.
    const mark = seenByB.length;
    const late = await TestSocket.open(wsUrl(a.url, q));
    await late.join();
    await waitFor(() => (seenByB.slice(mark).some((e) => e.source === a.nodeId && e.queue_id === q) ? true : undefined), 10_000);
    late.close();
  }, 60_000);
});
