import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { LeanWebSocket } from './lean-socket.js';

/** A strict peer: the `ws` package's server (it checks masking, the key, frame lengths). */
async function wsServer() {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws/queues/q?x=1`;
  return { wss, url, connection: once(wss, 'connection') as Promise<[WebSocket, { url?: string }]> };
}

function events(s: LeanWebSocket) {
  const messages: string[] = [];
  const errors: string[] = [];
  s.on('message', (data) => messages.push(data.toString('utf8')));
  s.on('error', (err) => errors.push(err.message));
  // Not events.once: it would reject on the 'error' that precedes a failed connection's close.
  const closed = new Promise<[number, Buffer]>((resolve) => s.once('close', (code, reason) => resolve([code, reason])));
  return { messages, errors, closed };
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

describe('LeanWebSocket', () => {
  it('upgrades, exchanges frames of every length class both ways, answers pings, and takes the server close code', async () => {
    const { wss, url, connection } = await wsServer();
    cleanups.push(() => wss.close());
    const s = new LeanWebSocket(url, { handshakeTimeout: 5_000, maxPayload: 1 << 20 });
    const ev = events(s);
    await once(s, 'open');
    expect(s.isOpen).toBe(true);
    const [peer, req] = await connection;
    expect(req.url).toBe('/ws/queues/q?x=1');
    const got: string[] = [];
    peer.on('message', (m) => got.push(String(m)));
    const sizes = [5, 200, 70_000];
    for (const n of sizes) s.send('c'.repeat(n));
    await new Promise<void>((resolve) => peer.once('message', () => setTimeout(resolve, 50)));
    await new Promise((r) => setTimeout(r, 100));
    expect(got.map((m) => m.length)).toEqual(sizes);
    for (const n of sizes) peer.send('s'.repeat(n));
    const pong = once(peer, 'pong');
    peer.ping(Buffer.from('hi'));
    expect(String((await pong)[0])).toBe('hi');
    peer.close(4100, 'admitted');
    const [code, reason] = await ev.closed;
    expect(ev.messages.map((m) => m.length)).toEqual(sizes);
    expect([code, reason.toString()]).toEqual([4100, 'admitted']);
    expect(ev.errors).toEqual([]);
  });

  it('closes from its side with a code the server sees', async () => {
    const { wss, url, connection } = await wsServer();
    cleanups.push(() => wss.close());
    const s = new LeanWebSocket(url);
    const ev = events(s);
    await once(s, 'open');
    const [peer] = await connection;
    const seen = once(peer, 'close') as Promise<[number, Buffer]>;
    s.close(1000, 'reconnecting');
    const [code, reason] = await seen;
    expect([code, reason.toString()]).toEqual([1000, 'reconnecting']);
    expect((await ev.closed)[0]).toBe(1000);
  });

  it('reports a refused upgrade and a handshake that never completes as errors, then close 1006', async () => {
    const refusing: Server = createServer((c) => c.end('HTTP/1.1 429 Too Many Requests\r\ncontent-length: 0\r\n\r\n'));
    const silent: Server = createServer(() => undefined);
    for (const srv of [refusing, silent]) {
      srv.listen(0, '127.0.0.1');
      await once(srv, 'listening');
      cleanups.push(() => srv.close());
    }
    const port = (srv: Server) => (srv.address() as AddressInfo).port;
    const refused = new LeanWebSocket(`ws://127.0.0.1:${port(refusing)}/`);
    const r = events(refused);
    expect((await r.closed)[0]).toBe(1006);
    expect(r.errors).toEqual(['Unexpected server response: 429']);
    const stalled = new LeanWebSocket(`ws://127.0.0.1:${port(silent)}/`, { handshakeTimeout: 200 });
    const t = events(stalled);
    expect((await t.closed)[0]).toBe(1006);
    expect(t.errors).toEqual(['Opening handshake has timed out']);
  });

  it('refuses a frame over maxPayload', async () => {
    const { wss, url, connection } = await wsServer();
    cleanups.push(() => wss.close());
    const s = new LeanWebSocket(url, { maxPayload: 100 });
    const ev = events(s);
    await once(s, 'open');
    const [peer] = await connection;
    peer.send('x'.repeat(101));
    expect((await ev.closed)[0]).toBe(1006);
    expect(ev.errors[0]).toMatch(/Max payload size exceeded/);
  });
});
