import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, runProcess, signalGroup, waitForHealth, type ServerProcess } from '../support/process.js';

const exec = promisify(execFile);

/** The seed README's quick start, as written (curl), against `npm start` with nothing configured. */
describe('npm start (embedded)', () => {
  let proc: ServerProcess;
  let base: string;
  beforeAll(async () => {
    const port = await freePort();
    base = `http://localhost:${port}`;
    proc = runProcess('npm', ['start'], { PORT: String(port), LOG_LEVEL: 'info' });
    await waitForHealth(base, proc);
  }, 60_000);
  afterAll(async () => {
    signalGroup(proc, 'SIGTERM');
    await proc.exited;
  });

  const curl = async (args: string[]) => {
    const { stdout } = await exec('curl', ['-sS', ...args]);
    return JSON.parse(stdout) as Record<string, unknown>;
  };

  it('join, check status and heartbeat with the seed README commands', async () => {
    const joined = await curl([
      '-X', 'POST', `${base}/api/v1/queues/concert-tickets/enqueue`,
      '-H', 'Content-Type: application/json',
      '-d', '{"priority": 0}',
    ]);
    expect(joined).toMatchObject({ queue_id: 'concert-tickets', status: expect.any(String) });
    const token = String(joined.token);
    expect(token.split('.')).toHaveLength(3);

    const status = await curl([`${base}/api/v1/queues/concert-tickets/status`, '-H', `Authorization: Bearer ${token}`]);
    expect(status.queue_id).toBe('concert-tickets');
    expect(['waiting', 'admitted']).toContain(status.status);

    const heartbeat = await curl([
      '-X', 'POST', `${base}/api/v1/queues/concert-tickets/heartbeat`,
      '-H', `Authorization: Bearer ${token}`,
      '-H', 'Content-Type: application/json',
      '-d', '{"timestamp": 1704067260000}',
    ]);
    expect(heartbeat.position_id).toBe(joined.position_id);
    // The defaults admit 500/minute, so the lone visitor is admitted within a tick or two.
    expect(['waiting', 'admitted']).toContain(heartbeat.status);
  });

  it('warns loudly about ephemeral secrets and keys', () => {
    expect(proc.output()).toContain('TICKET_SECRET is not set');
    expect(proc.output()).toContain('JWT_PRIVATE_KEY_FILE is not set');
  });
});

describe('process lifecycle', () => {
  const tsxServer = ['--import', 'tsx', 'server/src/main.ts'];

  it('stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const proc = runProcess('node', tsxServer, { PORT: String(port), LOG_LEVEL: 'info' });
    await waitForHealth(`http://127.0.0.1:${port}`, proc);
    signalGroup(proc, 'SIGTERM');
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    expect(proc.output()).toContain('waiting room stopped');
  }, 60_000);

  it('refuses to start on a bad setting, naming the variable', async () => {
    for (const [name, value] of [
      ['PORT', 'eighty'],
      ['JWT_ALG', 'HS256'],
      ['TRUSTED_PROXIES', '10.0.0.0/99'],
      ['DRAGONFLYDB_URL', 'http://nope'],
    ] as const) {
      const proc = runProcess('node', tsxServer, { [name]: value });
      const { code } = await proc.exited;
      expect(code, name).toBe(78);
      expect(proc.output()).toContain(name);
    }
  }, 60_000);

  it('refuses to run on the uWebSockets.js JavaScript fallback', async () => {
    const proc = runProcess('node', tsxServer, { PORT: String(await freePort()), UWS_USE_FALLBACK: '1' });
    const { code } = await proc.exited;
    expect(code).toBe(1);
    expect(proc.output()).toContain('native binary did not load');
  }, 60_000);
});

describe('WORKERS=2', () => {
  it('runs two nodes on one port and stops them both on SIGTERM', async () => {
    const port = await freePort();
    const proc = runProcess('node', ['--import', 'tsx', 'server/src/main.ts'], {
      PORT: String(port),
      HOST: '127.0.0.1',
      WORKERS: '2',
      DRAGONFLYDB_URL: 'redis://127.0.0.1:6379/7',
      LOG_LEVEL: 'info',
    });
    const url = `http://127.0.0.1:${port}`;
    await waitForHealth(url, proc);
    const nodes = new Set<string>();
    const deadline = Date.now() + 20_000;
    while (nodes.size < 2 && Date.now() < deadline) {
      // A new connection each time, so the kernel may pick either worker.
      const { stdout } = await exec('curl', ['-sS', '-H', 'Connection: close', `${url}/health`]);
      nodes.add(String((JSON.parse(stdout) as { node: string }).node));
    }
    expect(nodes.size).toBe(2);
    signalGroup(proc, 'SIGTERM');
    expect((await proc.exited).code).toBe(0);
    expect(proc.output().match(/waiting room stopped/g)).toHaveLength(2);
  }, 60_000);

  it('refuses WORKERS > 1 without DragonFly', async () => {
    const proc = runProcess('node', ['--import', 'tsx', 'server/src/main.ts'], { WORKERS: '2' });
    expect((await proc.exited).code).toBe(78);
    expect(proc.output()).toContain('WORKERS');
  }, 30_000);
});
