/**
 * Runs the waiting-room server as a separate process, the way it runs in production: its own
 * event loop, its own CPU, reached only over the network. Used by every benchmark.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { inspectorUrlOf } from './inspector.js';

/** The repository root (loadtest/bench/lib -> ../../..). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export const SERVER_ENTRY = 'server/src/main.ts';

/** A port nobody listens on right now (listen on 0, read it, close). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  server.listen(0, host);
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('could not read the free port');
  return address.port;
}

export interface StartServerOptions {
  /** Server settings (PORT and HOST are chosen here unless given). */
  env: Record<string, string>;
  /**
   * The script to run, relative to the repository root; default the waiting-room server. Any
   * script that listens on $HOST:$PORT and answers GET /health with 200 will do.
   */
  entry?: string;
  host?: string;
  /** Extra node flags for the server, e.g. ['--cpu-prof', '--cpu-prof-dir=/tmp/prof']. */
  nodeArgs?: readonly string[];
  readyTimeoutMs?: number;
  /** Where the server's own output goes, line by line; default: stderr with a prefix. */
  onOutput?: (line: string) => void;
}

export interface ServerProcess {
  readonly origin: string;
  readonly port: number;
  readonly pid: number;
  /** The V8 inspector's URL when the server was started with `--inspect` (lib/inspector.ts). */
  readonly inspectorUrl: string | undefined;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null if killed). */
  stop(graceMs?: number): Promise<number | null>;
}

function forwardLines(stream: NodeJS.ReadableStream | null, sink: (line: string) => void): void {
  if (!stream) return;
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) sink(line);
  });
  stream.on('end', () => {
    if (pending.trim()) sink(pending);
  });
}

async function waitHealthy(origin: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the server exited during start-up (code ${child.exitCode}, signal ${child.signalCode})`);
    }
    try {
      const res = await request(`${origin}/health`, { headersTimeout: 1_000, bodyTimeout: 1_000 });
      const body = await res.body.text();
      if (res.statusCode === 200) return;
      last = `${res.statusCode} ${body.slice(0, 200)}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(100);
  }
  throw new Error(`the server was not healthy within ${timeoutMs} ms (last: ${last})`);
}

/** Starts `node --import tsx <entry>` and resolves once GET /health answers 200. */
export async function startServer(opts: StartServerOptions): Promise<ServerProcess> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.env.PORT ? Number(opts.env.PORT) : await freePort(host);
  const origin = `http://${host}:${port}`;
  const output = opts.onOutput ?? ((line: string) => process.stderr.write(`[server] ${line}\n`));
  let inspectorUrl: string | undefined;
  const sink = (line: string) => {
    inspectorUrl ??= inspectorUrlOf(line);
    output(line);
  };

  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', 'tsx', opts.entry ?? SERVER_ENTRY], {
    cwd: REPO_ROOT,
    env: { ...process.env, HOST: host, ...opts.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  forwardLines(child.stdout, sink);
  forwardLines(child.stderr, sink);
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  let stopping = false;
  // A server that dies on its own says so (a crash or an outside kill otherwise shows only as
  // connection errors somewhere else).
  void exited.then(([code, signal]) => {
    if (!stopping) sink(`exited unexpectedly (pid ${child.pid}, code ${code}, signal ${signal})`);
  });
  // Never leave an orphan server behind, even when the benchmark dies.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async (graceMs = 15_000): Promise<number | null> => {
    stopping = true;
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const [code] = await exited;
    clearTimeout(timer);
    process.removeListener('exit', killOnExit);
    return code;
  };

  try {
    await waitHealthy(origin, child, opts.readyTimeoutMs ?? 30_000);
  } catch (err) {
    await stop(2_000);
    throw err;
  }
  if (child.pid === undefined) throw new Error('the server process has no pid');
  return { origin, port, pid: child.pid, inspectorUrl, stop };
}
