import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, call, redisUrlFor, SIGNING_KEY_FILE, TICKET_SECRET, uniqueQueueId } from '../support/nodes.js';
import { freePort, runProcess, signalGroup, waitForHealth, type ServerProcess } from '../support/process.js';
import { TestSocket, wsUrl } from '../support/ws-client.js';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const admin = { 'x-admin-key': ADMIN_KEY };

/** Three server processes; one is SIGKILLed mid-queue and its visitors move to the others. */
describe('a node dies mid-queue', () => {
  const servers: { proc: ServerProcess; url: string }[] = [];
  beforeAll(async () => {
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const proc = runProcess('node', ['--import', 'tsx', 'server/src/main.ts'], {
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        DRAGONFLYDB_URL: redisUrlFor(5),
        NATS_URL,
        ADMIN_API_KEY: ADMIN_KEY,
        TICKET_SECRET,
        JWT_PRIVATE_KEY_FILE: SIGNING_KEY_FILE,
        IP_SALT: 'test-salt-0123',
        ENQUEUE_RATE_LIMIT_PER_MINUTE: '0',
        WS_MAX_SOCKETS_PER_IP: '100000',
        NODE_LEASE_TTL_MS: '2000',
        POSITION_TICK_MS: '250',
      });
      servers.push({ proc, url: `http://127.0.0.1:${port}` });
    }
    await Promise.all(servers.map((s) => waitForHealth(s.url, s.proc)));
  }, 60_000);
  afterAll(async () => {
    for (const s of servers) signalGroup(s.proc, 'SIGTERM');
    await Promise.all(servers.map((s) => s.proc.exited));
  });

  it('its visitors reconnect to other nodes with their tickets and keep their exact places', async () => {
    const q = uniqueQueueId('kill');
    const created = await call(`${servers[0]!.url}/api/v1/admin/queues`, {
      method: 'POST',
      body: { id: q, status: 'paused', heartbeat_interval_seconds: 5, heartbeat_timeout_seconds: 30 },
      headers: admin,
    });
    expect(created.status).toBe(201);
    const visitors: { socket: TestSocket; node: number; token: string; positionId: string; position: number }[] = [];
    for (let i = 0; i < 90; i++) {
      const node = i % 3;
      const socket = await TestSocket.open(wsUrl(servers[node]!.url, q));
      const joined = await socket.join();
      visitors.push({ socket, node, token: String(joined.data.token), positionId: String(joined.data.position_id), position: Number(joined.data.position) });
    }
    expect(visitors.map((v) => v.position)).toEqual(Array.from({ length: 90 }, (_, i) => i + 1));

    signalGroup(servers[1]!.proc, 'SIGKILL');
    await servers[1]!.proc.exited;
    const orphans = visitors.filter((v) => v.node === 1);
    await Promise.all(orphans.map((v) => v.socket.closed));

    for (const [k, v] of orphans.entries()) {
      const target = k % 2 === 0 ? 0 : 2;
      const socket = await TestSocket.open(wsUrl(servers[target]!.url, q));
      const joined = await socket.join({ token: v.token });
      expect(joined.type).toBe('joined');
      expect(joined.data).toMatchObject({ position_id: v.positionId, position: v.position, resumed: true });
      v.socket = socket;
      v.node = target;
    }
    // Nobody lost, nobody duplicated: the queue still holds exactly the 90, in order.
    const stats = await call(`${servers[0]!.url}/api/v1/admin/queues/${q}/stats`, { headers: admin });
    expect(stats.body.queue_length).toBe(90);
    for (const v of visitors) {
      const status = await call(`${servers[v.node]!.url}/api/v1/queues/${q}/status`, { token: v.token });
      expect(status.body).toMatchObject({ position_id: v.positionId, position: v.position });
    }
    // Past the dead node's lease and more: the held places are not expired.
    await new Promise((r) => setTimeout(r, 3_500));
    const later = await call(`${servers[2]!.url}/api/v1/admin/queues/${q}/stats`, { headers: admin });
    expect(later.body.queue_length).toBe(90);
    for (const v of visitors) v.socket.close();
  }, 60_000);
});
