import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './process.js';

const NATS_SERVER_BIN = existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server';
const READY_LINE = 'Server is ready';

/** A nats-server child process with JetStream on its own port and its own store directory. */
export interface NatsServerProcess {
  readonly port: number;
  readonly url: string;
  readonly storeDir: string;
  running(): boolean;
  /** Stops the server and keeps its store. SIGKILL is a crash, SIGTERM a clean shutdown. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port with the same store. */
  restart(): Promise<void>;
  /** Stops it and removes the store. */
  dispose(): Promise<void>;
  output(): string;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Starts nats-server on `port` (default: a random free one). */
export async function startNatsServer(opts: { port?: number } = {}): Promise<NatsServerProcess> {
  const storeDir = await mkdtemp(join(tmpdir(), 'wr-nats-'));
  let port = opts.port ?? (await freePort());
  let proc: Launched | undefined;
  let last: Launched | undefined;

  // Another process may take a "free" port before the server binds it: pick another one then.
  for (let attempt = 1; ; attempt++) {
    try {
      proc = last = await launch(port, storeDir);
      break;
    } catch (err) {
      if (attempt >= 3 || opts.port !== undefined || !String(err).includes('address already in use')) {
        await rm(storeDir, { recursive: true, force: true });
        throw err;
      }
      port = await freePort();
    }
  }

  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const c = proc?.child;
    proc = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill(signal);
    await exited;
    live.delete(c);
  };

  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    storeDir,
    running: () => proc !== undefined,
    stop,
    async restart() {
      await stop();
      // The port was just released; a restart on it may briefly race the old socket.
      for (let attempt = 1; ; attempt++) {
        try {
          proc = last = await launch(port, storeDir);
          return;
        } catch (err) {
          if (attempt >= 5) throw err;
          await new Promise((r) => setTimeout(r, 100 * attempt));
        }
      }
    },
    async dispose() {
      await stop('SIGKILL');
      await rm(storeDir, { recursive: true, force: true });
    },
    output: () => last?.out ?? '',
  };
}

interface Launched {
  child: ChildProcess;
  /** Everything the server printed so far. */
  out: string;
}

async function launch(port: number, storeDir: string): Promise<Launched> {
  const child = spawn(NATS_SERVER_BIN, ['-js', '-sd', storeDir, '-p', String(port), '-a', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const result: Launched = { child, out: '' };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`nats-server did not start in 10 s:\n${result.out}`)), 10_000);
    const onData = (d: Buffer) => {
      result.out += d.toString();
      if (result.out.includes(READY_LINE)) {
        clearTimeout(timer);
        resolve();
      }
    };
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      live.delete(child);
      reject(err);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`nats-server exited (${code}) on port ${port}:\n${result.out}`)));
  });
  child.once('exit', () => live.delete(child));
  return result;
}
