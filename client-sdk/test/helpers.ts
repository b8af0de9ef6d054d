import { connect, createServer, type Socket } from 'node:net';
import WebSocket from 'ws';
import { ADMIN_KEY, call, createQueue, sleep, type TestNode } from '../../server/test/support/nodes.js';
import type { Environment, StorageLike, WaitingRoom, WaitingRoomEvents, WebSocketConstructor } from '../src/index.js';

/** A Map-based storage whose contents a test can look at. */
export function mapStorage(): StorageLike & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return {
    map,
    getItem: (key) => map.get(key) ?? null,
    setItem: (key, value) => void map.set(key, value),
    removeItem: (key) => void map.delete(key),
  };
}

export const storedToken = (storage: { map: Map<string, string> }, queueId: string): string | undefined => {
  const raw = storage.map.get(`wr:ticket:${queueId}`);
  return raw ? (JSON.parse(raw) as { token: string }).token : undefined;
};

/** The real `ws` client, counting how many sockets the SDK opened. */
export function countingWebSocket(): { WebSocket: WebSocketConstructor; opened: () => number } {
  let count = 0;
  class Counting extends WebSocket {
    constructor(url: string) {
      super(url);
      count++;
    }
  }
  return { WebSocket: Counting, opened: () => count };
}

/** Connectivity and visibility a test flips by hand (the browser's are not there in Node). */
export function manualEnvironment() {
  let online = true;
  let visible = true;
  const listeners = new Set<(change: 'online' | 'offline' | 'visible' | 'hidden') => void>();
  const environment: Environment = {
    isOnline: () => online,
    isVisible: () => visible,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  const set = (change: 'online' | 'offline' | 'visible' | 'hidden') => {
    if (change === 'online' || change === 'offline') online = change === 'online';
    else visible = change === 'visible';
    for (const listener of [...listeners]) listener(change);
  };
  return { environment, set };
}

type Recorded = { [K in keyof WaitingRoomEvents]: { type: K; payload: WaitingRoomEvents[K]; at: number } }[keyof WaitingRoomEvents];

/** Every event of a room, in order. */
export function record(room: WaitingRoom) {
  const events: Recorded[] = [];
  const types = ['state', 'joined', 'position', 'admitted', 'expired', 'error'] as const;
  for (const type of types) {
    room.on(type, (payload: WaitingRoomEvents[typeof type]) => events.push({ type, payload, at: Date.now() } as Recorded));
  }
  function of<K extends keyof WaitingRoomEvents>(type: K): WaitingRoomEvents[K][] {
    return events.filter((e) => e.type === type).map((e) => e.payload as WaitingRoomEvents[K]);
  }
  return {
    events,
    of,
    states: () => of('state').map((s) => s.state),
    /** The first event of `type` (after index `from`) that matches. */
    async next<K extends keyof WaitingRoomEvents>(
      type: K,
      match: (payload: WaitingRoomEvents[K]) => boolean = () => true,
      timeoutMs = 10_000,
      from = 0,
    ): Promise<WaitingRoomEvents[K]> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = events.slice(from).find((e) => e.type === type && match(e.payload as WaitingRoomEvents[K]));
        if (found) return found.payload as WaitingRoomEvents[K];
        if (Date.now() > deadline) {
          throw new Error(`no ${type} within ${timeoutMs} ms; states ${JSON.stringify(of('state').map((s) => s.state))}, errors ${JSON.stringify(of('error'))}`);
        }
        await sleep(20);
      }
    },
  };
}

/** A paused queue (nobody is admitted until `admit`), with `ahead` REST visitors in it. */
export async function pausedQueue(node: TestNode, id: string, settings: Record<string, unknown> = {}, ahead = 0): Promise<string[]> {
  await createQueue(node, { id, status: 'paused', target_url: 'https://shop.example/checkout?from=queue', ...settings });
  const tickets: string[] = [];
  for (let i = 0; i < ahead; i++) {
    const res = await call(`${node.url}/api/v1/queues/${id}/enqueue`, { method: 'POST', body: {} });
    tickets.push(String(res.body.token));
  }
  return tickets;
}

/** Opens the queue: admissions start at `perMinute`. */
export async function admit(node: TestNode, id: string, perMinute = 120): Promise<void> {
  const res = await call(`${node.url}/api/v1/admin/queues/${id}`, {
    method: 'PATCH',
    body: { status: 'active', admission_rate_per_minute: perMinute },
    headers: { 'x-admin-key': ADMIN_KEY },
  });
  if (res.status !== 200) throw new Error(`admit failed: ${res.status} ${JSON.stringify(res.body)}`);
}

/**
 * A TCP forwarder on a port of its own: the stable address (a load balancer, a fixed port) of
 * a node that restarts. Restarting a uWS node on the very same port does not work right away:
 * the connections it drained sit in TIME_WAIT on that port, and this uWS build's listen socket
 * cannot reuse it (EADDRINUSE for up to tcp_fin_timeout, 60 s).
 */
export async function startForwarder(targetPort: number) {
  let target = targetPort;
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    open.add(client).add(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on('error', drop);
      s.on('close', drop);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    /** Sends new connections to another node. */
    retarget(next: number) {
      target = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
