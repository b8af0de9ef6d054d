import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { encode } from '../../server/src/realtime/protocol.js';
import { startSwarm } from './swarm.js';
import { countBetween, mergeTimelines } from './timeline.js';
import { Visitor, nowMs } from './ws-visitor.js';

/**
 * A stand-in server speaking the protocol (no store): `join` without a ticket gets a new place,
 * with a ticket the place of that ticket (resumed). Tests drive pushes through `sockets`.
 */
async function fakeServer() {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  const sockets: WebSocket[] = [];
  const peers: string[] = [];
  let next = 1;
  wss.on('connection', (ws, req) => {
    sockets.push(ws);
    peers.push(req.socket.remoteAddress ?? '');
    ws.on('message', (raw) => {
      const msg = JSON.parse(String(raw)) as { type: string; data?: { token?: string } };
      if (msg.type !== 'join') return;
      const ticket = msg.data?.token;
      const id = ticket ? ticket.slice('ticket-'.length) : String(next++);
      ws.send(
        encode({
          type: 'joined',
          data: {
            position_id: id,
            queue_id: 'q',
            position: Number(id),
            queue_length: 100,
            estimated_wait_seconds: 10,
            status: 'waiting',
            admitted: false,
            token: `ticket-${id}`,
            token_expires_at: new Date(Date.now() + 900_000).toISOString(),
            heartbeat_interval_seconds: 30,
            heartbeat_timeout_seconds: 60,
            expires_at: new Date(Date.now() + 60_000).toISOString(),
            resumed: ticket !== undefined,
          },
        }),
      );
    });
  });
  const port = (wss.address() as AddressInfo).port;
  return { wss, sockets, peers, url: `ws://127.0.0.1:${port}/ws/queues/q` };
}

const servers: Awaited<ReturnType<typeof fakeServer>>[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    for (const ws of s.wss.clients) ws.terminate();
    await new Promise((r) => s.wss.close(r));
  }
});

const update = (position: number) =>
  encode({ type: 'position_update', data: { position, queue_length: 100, estimated_wait_seconds: position } });

describe('Visitor', () => {
  it('joins, follows positions (counting any rise), refreshes its ticket, and records its admission', async () => {
    const server = await fakeServer();
    servers.push(server);
    const v = new Visitor({ url: server.url });
    const outcome = await v.joinOnce(5_000);
    expect(outcome.kind).toBe('joined');
    expect(v.phase).toBe('waiting');
    expect(v.positionId).toBe('1');
    expect(v.ticket).toBe('ticket-1');
    expect(v.last.position).toBe(1);

    const ws = server.sockets[0] as WebSocket;
    ws.send(update(0));
    ws.send(update(3)); // a rise: counted, still taken
    ws.send(encode({ type: 'token_refresh', data: { token: 'ticket-1b', expires_at: new Date().toISOString() } }));
    const before = nowMs();
    ws.send(
      encode({
        type: 'admitted',
        data: { session_id: 'q.1', session_token: 's', redirect_url: 'http://o/', session_expires_at: new Date().toISOString() },
      }),
    );
    ws.close(4100, 'admitted');
    await new Promise<void>((resolve) => {
      const check = () => (v.closeCode !== 0 ? resolve() : setTimeout(check, 5));
      check();
    });
    expect(v.positionUpdates).toBe(2);
    expect(v.positionRises).toBe(1);
    expect(v.last).toEqual({ position: 3, queueLength: 100, etaSeconds: 3 });
    expect(v.ticket).toBe('ticket-1b');
    expect(v.tokenRefreshes).toBe(1);
    expect(v.phase).toBe('admitted');
    expect(v.admittedAt).toBeGreaterThanOrEqual(before);
    expect(v.admission?.session_id).toBe('q.1');
    expect(v.closeCode).toBe(4100);
    expect(v.closeReason).toBe('admitted');
    expect(v.closedTransiently).toBe(false);
  });

  it('reconnects with its ticket and resumes the same place', async () => {
    const server = await fakeServer();
    servers.push(server);
    const v = new Visitor({ url: server.url });
    await v.joinOnce(5_000);
    const again = await v.reconnect({ timeoutMs: 5_000 });
    expect(again.kind).toBe('joined');
    expect(v.positionId).toBe('1');
    expect(v.resumed).toBe(true);
    expect(v.connects).toBe(2);
    expect(server.sockets).toHaveLength(2);
    v.close();
  });

  it('fails cleanly when nothing listens', async () => {
    const server = await fakeServer();
    const url = server.url;
    await new Promise((r) => server.wss.close(r));
    const v = new Visitor({ url });
    const outcome = await v.joinOnce(5_000);
    expect(outcome.kind).toBe('failed');
    expect(v.phase).toBe('failed');
    expect(v.errorCode).toBe('CONNECT');
  });
});

describe('startSwarm', () => {
  it('opens every visitor over several servers and source addresses, counts updates, and closes', async () => {
    const a = await fakeServer();
    const b = await fakeServer();
    servers.push(a, b);
    const epochMs = nowMs();
    const swarm = startSwarm({
      urls: [a.url, b.url],
      localAddresses: ['127.0.0.1', '127.0.0.2'],
      count: 40,
      firstIndex: 0,
      concurrency: 7,
      ratePerSecond: 0,
      join: true,
      openTimeoutMs: 10_000,
      handshakeTimeoutMs: 5_000,
      timeline: { epochMs, bucketMs: 100, buckets: 600 },
    });
    const opened = await swarm.opened;
    expect(opened).toMatchObject({ started: 40, ready: 40, failed: 0, unstarted: 0, timedOut: false });
    expect(a.sockets).toHaveLength(20);
    expect(b.sockets).toHaveLength(20);
    expect(new Set([...a.peers, ...b.peers])).toEqual(new Set(['127.0.0.1', '127.0.0.2']));

    for (const ws of [...a.sockets, ...b.sockets]) ws.send(update(0));
    await new Promise<void>((resolve) => {
      const check = () => (swarm.report().positionUpdates === 40 ? resolve() : setTimeout(check, 5));
      check();
    });
    const report = swarm.report();
    expect(report.readyLatenciesMs).toHaveLength(40);
    expect(report.open).toBe(40);
    expect(report.phases).toEqual({ waiting: 40 });
    const updates = mergeTimelines([report.timelines.updates]);
    expect(countBetween(updates, epochMs, nowMs() + 1_000)).toBe(40);

    await swarm.close(5_000);
    const closed = swarm.report();
    expect(closed.open).toBe(0);
    expect(closed.closeCodes).toEqual({ 1000: 40 });
    expect(closed.phases).toEqual({ closed: 40 });
    expect(countBetween(closed.timelines.left, epochMs, nowMs() + 1_000)).toBe(40);
  });

  it('listeners (no join) are ready once open, and the rate limit paces the opening', async () => {
    const a = await fakeServer();
    servers.push(a);
    const started = nowMs();
    const swarm = startSwarm({
      urls: [a.url],
      localAddresses: [],
      count: 30,
      firstIndex: 0,
      concurrency: 100,
      ratePerSecond: 100,
      join: false,
      openTimeoutMs: 10_000,
      handshakeTimeoutMs: 5_000,
      timeline: { epochMs: started, bucketMs: 100, buckets: 600 },
    });
    const opened = await swarm.opened;
    expect(opened.ready).toBe(30);
    // 30 at 100/s with at most a 10-connection burst: not before ~200 ms.
    expect(opened.lastReadyAt - started).toBeGreaterThan(150);
    await swarm.close(5_000);
  });
});
