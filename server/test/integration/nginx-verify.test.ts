import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, call, createQueue, enqueue, startTestNode, uniqueQueueId, waitFor, type TestNode } from '../support/nodes.js';
import { admitVisitor, untilAdmitted, type AdmittedVisitor } from '../support/sessions.js';

/**
 * Real nginx (Debian package, `.ci/run` installs it) in front of a small origin, gated by
 * auth_request against a node's /verify. The nginx config is docs/examples/nginx.conf itself
 * (the one docs/TOKENIZATION.md shows) with only addresses and the queue id replaced.
 */
const PUBLIC_URL = 'http://waiting.example.test';
const REPO = new URL('../../../', import.meta.url);
const NGINX = existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Replaces `from` in the documented config, which must hold it exactly once. */
function substitute(text: string, from: string, to: string): string {
  const parts = text.split(from);
  if (parts.length !== 2) throw new Error(`docs/examples/nginx.conf should contain "${from}" once`);
  return parts.join(to);
}

interface OriginRequest {
  method: string;
  url: string;
  session: string | undefined;
}

describe('nginx auth_request in front of an origin', () => {
  let node: TestNode;
  let origin: Server;
  const seen: OriginRequest[] = [];
  let nginx: ChildProcess;
  let dir: string;
  let base: string;
  let q: string;
  let otherQueue: string;
  let cookieVisitor: AdmittedVisitor;
  let bearerVisitor: AdmittedVisitor;
  let otherQueueVisitor: AdmittedVisitor;
  let waitingTicket: string;

  beforeAll(async () => {
    // Embedded: one node is all the gate needs (session-control.test.ts proves revocation across nodes).
    node = await startTestNode({ env: { PUBLIC_URL, TRUSTED_PROXIES: '127.0.0.1' } });
    origin = createServer((req, res) => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', session: req.headers['x-waiting-room-session'] as string | undefined });
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`origin: ${req.url ?? ''}`);
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    const originPort = (origin.address() as AddressInfo).port;

    q = uniqueQueueId('ngx');
    otherQueue = uniqueQueueId('ngx');
    // Two sessions at most: the third visitor waits.
    await createQueue(node, { id: q, admission_rate_per_minute: 600, max_active_users: 2 });
    await createQueue(node, { id: otherQueue, admission_rate_per_minute: 600 });
    cookieVisitor = await admitVisitor(node, q);
    bearerVisitor = await admitVisitor(node, q);
    otherQueueVisitor = await admitVisitor(node, otherQueue);
    waitingTicket = String((await enqueue(node, q)).body.token);

    dir = mkdtempSync(join(tmpdir(), 'wr-nginx-'));
    for (const sub of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub));
    const port = await freePort();
    let site = readFileSync(new URL('docs/examples/nginx.conf', REPO), 'utf8');
    site = substitute(site, 'server 127.0.0.1:8080;', `server 127.0.0.1:${node.port};`);
    site = substitute(site, 'server 127.0.0.1:3000;', `server 127.0.0.1:${originPort};`);
    site = substitute(site, 'listen 8000;', `listen 127.0.0.1:${port};`);
    site = substitute(site, '/queues/concert-tickets/verify', `/queues/${q}/verify`);
    // Test-only globals: foreground, one process (no privilege drop when CI runs as root), every
    // path inside the temporary directory.
    const conf = `daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${site}
}
`;
    writeFileSync(join(dir, 'nginx.conf'), conf);
    nginx = spawn(NGINX, ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    nginx.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<never>((_, reject) => {
      nginx.once('exit', (code) => reject(new Error(`nginx exited (${code}): ${stderr}`)));
      nginx.once('error', (err) => reject(new Error(`cannot start ${NGINX} (apt-get install nginx): ${err.message}`)));
    });
    base = `http://127.0.0.1:${port}`;
    await Promise.race([
      exited,
      waitFor(() => fetch(`${base}/`, { redirect: 'manual' }).then(() => true, () => undefined), 10_000),
    ]);
    seen.length = 0;
  });

  afterAll(async () => {
    if (nginx && nginx.exitCode === null) {
      const gone = new Promise((resolve) => nginx.once('exit', resolve));
      nginx.kill('SIGTERM');
      await gone;
    }
    await new Promise((resolve) => origin?.close(resolve));
    await node?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
    fetch(`${base}${path}`, { method, headers, redirect: 'manual' });
  const cookie = (token: string) => ({ cookie: `wr_session=${token}` });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  /** Refused: a 302 to the waiting page, and the origin never saw the request. */
  async function expectSentToWaitingPage(res: Response) {
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`${PUBLIC_URL}/queues/${q}`);
    expect(seen).toEqual([]);
  }

  it('the config under test is the one docs/TOKENIZATION.md shows', () => {
    const docs = readFileSync(new URL('docs/TOKENIZATION.md', REPO), 'utf8');
    const snippet = readFileSync(new URL('docs/examples/nginx.conf', REPO), 'utf8');
    expect(docs).toContain(snippet.trim());
  });

  it('a request without a token is sent to the waiting page', async () => {
    await expectSentToWaitingPage(await get('/checkout'));
  });

  it('an admitted visitor reaches the origin with the cookie or a bearer token', async () => {
    const viaCookie = await get('/checkout?item=7', cookie(cookieVisitor.sessionToken));
    expect(viaCookie.status).toBe(200);
    expect(await viaCookie.text()).toBe('origin: /checkout?item=7');
    expect(viaCookie.headers.get('set-cookie')).toBeNull();
    const viaBearer = await get('/cart', bearer(bearerVisitor.sessionToken), 'POST');
    expect(viaBearer.status).toBe(200);
    expect(seen).toEqual([
      { method: 'GET', url: '/checkout?item=7', session: cookieVisitor.sessionId },
      { method: 'POST', url: '/cart', session: bearerVisitor.sessionId },
    ]);
    seen.length = 0;
  });

  it('a token handed over as ?wr_token= lets the visitor in and becomes a cookie', async () => {
    const res = await get(`/landing?wr_token=${bearerVisitor.sessionToken}`);
    expect(res.status).toBe(200);
    const setCookie = res.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(new RegExp(`^wr_session=${bearerVisitor.sessionToken.replaceAll('.', '\\.')}; Path=/; Max-Age=\\d+; HttpOnly`));
    expect(seen.map((r) => r.session)).toEqual([bearerVisitor.sessionId]);
    seen.length = 0;
  });

  it('a ticket not yet admitted does not reach the origin', async () => {
    const status = await call(`${node.url}/api/v1/queues/${q}/status`, { token: waitingTicket });
    expect(status.body).toMatchObject({ status: 'waiting', admitted: false });
    await expectSentToWaitingPage(await get('/checkout', bearer(waitingTicket)));
    await expectSentToWaitingPage(await get('/checkout', cookie(waitingTicket)));
  });

  it('a session token of another queue, or an altered one, is refused', async () => {
    await expectSentToWaitingPage(await get('/checkout', cookie(otherQueueVisitor.sessionToken)));
    await expectSentToWaitingPage(await get('/checkout', cookie(`${cookieVisitor.sessionToken.slice(0, -4)}AAAA`)));
  });

  it('a revoked session is refused at once', async () => {
    const revoked = await call(`${node.url}/api/v1/admin/sessions/${cookieVisitor.sessionId}`, {
      method: 'DELETE',
      headers: { 'x-admin-key': ADMIN_KEY },
    });
    expect(revoked.status).toBe(200);
    await expectSentToWaitingPage(await get('/checkout', cookie(cookieVisitor.sessionToken)));
  });

  it('a session released by its holder is refused, and the freed slot admits the waiting visitor', async () => {
    const released = await call(`${node.url}/api/v1/sessions/${bearerVisitor.sessionId}`, {
      method: 'DELETE',
      token: bearerVisitor.sessionToken,
    });
    expect(released.body).toMatchObject({ status: 'released' });
    await expectSentToWaitingPage(await get('/cart', bearer(bearerVisitor.sessionToken)));

    const admitted = await untilAdmitted(node, q, waitingTicket);
    const res = await get('/checkout', cookie(admitted.sessionToken));
    expect(res.status).toBe(200);
    expect(seen.map((r) => r.session)).toEqual([admitted.sessionId]);
  });
});
