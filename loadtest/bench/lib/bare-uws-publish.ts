/**
 * The raw fan-out limit the waiting room is compared with: a bare uWebSockets.js server (the very
 * package the server uses, loaded the same way) whose every socket subscribes to one topic, and
 * which publishes one position_update-shaped JSON frame to that topic per tick. No protocol, no
 * store, no per-socket work in JavaScript: what uWS alone costs to reach N sockets.
 *
 * Run as its own process by the realtime benchmark (server-process.ts, `entry`):
 *   HOST, PORT                 where to listen
 *   BARE_TICK_MS               publish period, ms (default 1000, the server's POSITION_TICK_MS)
 *   BARE_FIRST_POSITION        the first frame's position (default 20000); it falls by one per
 *                              frame, so frames have the size and shape of the server's updates
 *   BARE_MAX_BACKPRESSURE      per-socket send buffer limit, bytes (default 262144, the server's
 *                              WS_MAX_BACKPRESSURE_BYTES default); a socket over it misses frames
 * HTTP: GET /health; GET /stats (sockets, frames published, memory — after a full garbage
 * collection when run with --expose-gc, so start-up garbage does not blur a per-socket figure);
 * GET /flood?ms=N[&at=EPOCH_MS] publishes back to
 * back (one frame per event-loop turn, so uWS writes out between frames) for N ms — the
 * "as fast as the clients drain" figure: slower sockets skip frames instead of buffering them.
 * `at` (wall-clock ms) starts every publisher at the same instant, however slowly each answers.
 */
import { assertNativeUws, uWS, type HttpResponse } from '../../../server/src/http/uws.js';

const TOPIC = 'position';

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return n;
}

assertNativeUws();
const host = process.env.HOST ?? '127.0.0.1';
const port = envInt('PORT', 0);
const tickMs = envInt('BARE_TICK_MS', 1_000);
const maxBackpressure = envInt('BARE_MAX_BACKPRESSURE', 256 * 1024);
let position = Math.max(1, envInt('BARE_FIRST_POSITION', 20_000));
const queueLength = position;

let sockets = 0;
let published = 0;
let floodFrom = 0;
let floodUntil = 0;

/** The server's position_update at 60,000 admissions per minute (protocol.ts shape and key order). */
function nextFrame(): string {
  const frame = JSON.stringify({
    type: 'position_update',
    data: { position, queue_length: queueLength, estimated_wait_seconds: Math.ceil((position * 60) / 60_000) },
  });
  if (position > 1) position--;
  return frame;
}

const app = uWS.App();

function publish(): void {
  app.publish(TOPIC, nextFrame(), false);
  published++;
}

function flood(): void {
  const now = Date.now();
  if (now >= floodUntil) return;
  if (now >= floodFrom) publish();
  setImmediate(flood);
}

app.ws<Record<string, never>>('/*', {
  compression: 0,
  maxPayloadLength: 4 * 1024,
  idleTimeout: 120,
  sendPingsAutomatically: true,
  maxBackpressure,
  closeOnBackpressureLimit: 0,
  open(ws) {
    ws.subscribe(TOPIC);
    sockets++;
  },
  close() {
    sockets--;
  },
});

function json(res: HttpResponse, status: string, body: unknown): void {
  res.writeStatus(status).writeHeader('content-type', 'application/json').end(JSON.stringify(body));
}

app.get('/health', (res) => json(res, '200 OK', { status: 'healthy' }));
app.get('/stats', (res) => {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  json(res, '200 OK', { sockets, published, tick_ms: tickMs, rss_bytes: rss, heap_used_bytes: heapUsed, collected: gc !== undefined });
});
app.get('/flood', (res, req) => {
  const query = new URLSearchParams(req.getQuery() ?? '');
  const ms = Number(query.get('ms'));
  const at = Number(query.get('at') ?? Date.now());
  if (!Number.isInteger(ms) || ms < 1 || ms > 600_000) return json(res, '400 Bad Request', { error: 'ms: 1..600000' });
  if (!Number.isFinite(at) || Math.abs(at - Date.now()) > 60_000) return json(res, '400 Bad Request', { error: 'at: within a minute' });
  const running = Date.now() < floodUntil;
  floodFrom = at;
  floodUntil = at + ms;
  if (!running) setImmediate(flood);
  json(res, '202 Accepted', { flooding_ms: ms, from: at });
});
app.any('/*', (res) => json(res, '404 Not Found', { error: 'not found' }));

if (tickMs > 0) setInterval(publish, tickMs);

app.listen(host, port, (socket) => {
  if (!socket) {
    process.stderr.write(`bare-uws-publish: cannot listen on ${host}:${port}\n`);
    process.exit(1);
  }
});
process.once('SIGTERM', () => process.exit(0));
process.once('SIGINT', () => process.exit(0));
