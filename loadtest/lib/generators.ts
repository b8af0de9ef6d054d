/**
 * Load generator processes: a swarm per child process (sockets count against each process's
 * ~20,000 open files, so worker threads would not do), started with `node --import tsx` through
 * node:child_process fork, driven and read over IPC. Structured-clone serialization carries the
 * reports' typed arrays as they are.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { OpenSummary, SwarmPlan, SwarmReport } from './swarm.js';

export type ToGenerator =
  | { cmd: 'open'; id: number; plan: SwarmPlan }
  | { cmd: 'report'; id: number }
  | { cmd: 'close'; id: number; timeoutMs: number };

export type FromGenerator =
  | { ev: 'ready' }
  | { ev: 'opened'; id: number; summary: OpenSummary }
  | { ev: 'report'; id: number; report: SwarmReport }
  | { ev: 'closed'; id: number }
  | { ev: 'failed'; id: number; error: string };

const WORKER = fileURLToPath(new URL('./generator-worker.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface GeneratorPool {
  readonly pids: readonly number[];
  readonly size: number;
  /** One plan per process; resolves when every swarm is open (or its opening timed out). */
  open(plans: readonly SwarmPlan[]): Promise<OpenSummary[]>;
  report(timeoutMs?: number): Promise<SwarmReport[]>;
  /** Closes every socket of every process (their swarms can then be opened again). */
  closeSockets(timeoutMs: number): Promise<void>;
  /** Ends the processes (SIGKILL after `graceMs`); idempotent. */
  stop(graceMs?: number): Promise<void>;
}

class Generator {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (m: FromGenerator) => void; reject: (e: Error) => void }>();
  readonly exited: Promise<unknown>;

  constructor(readonly child: ChildProcess) {
    child.on('message', (m: FromGenerator) => {
      if (m.ev === 'ready') return;
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.ev === 'failed') w.reject(new Error(`generator ${child.pid}: ${m.error}`));
      else w.resolve(m);
    });
    this.exited = once(child, 'exit').then(() => {
      for (const w of this.waiting.values()) w.reject(new Error(`generator ${child.pid} exited (code ${child.exitCode})`));
      this.waiting.clear();
    });
  }

  /** Sends a command and waits for its answer, at most `timeoutMs`. */
  request(make: (id: number) => ToGenerator, timeoutMs: number): Promise<FromGenerator> {
    const id = this.nextId++;
    return new Promise<FromGenerator>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`generator ${this.child.pid}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.send(make(id), (err) => {
        if (err) this.waiting.get(id)?.reject(err);
      });
    });
  }
}

function expect<T extends FromGenerator['ev']>(m: FromGenerator, ev: T): Extract<FromGenerator, { ev: T }> {
  if (m.ev !== ev) throw new Error(`generator answered ${m.ev}, expected ${ev}`);
  return m as Extract<FromGenerator, { ev: T }>;
}

export interface StartGeneratorsOptions {
  /** Extra node flags for every generator process, e.g. ['--cpu-prof', '--cpu-prof-dir=/tmp/prof']. */
  nodeArgs?: readonly string[];
  readyTimeoutMs?: number;
}

export async function startGenerators(count: number, opts: StartGeneratorsOptions = {}): Promise<GeneratorPool> {
  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  const generators: Generator[] = [];
  const killAll = () => {
    for (const g of generators) g.child.kill('SIGKILL');
  };
  // Never leave a generator behind, even when the caller dies.
  process.once('exit', killAll);
  try {
    for (let i = 0; i < count; i++) {
      const child = fork(WORKER, [], {
        cwd: REPO_ROOT,
        execArgv: [...(opts.nodeArgs ?? []), '--import', 'tsx'],
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      generators.push(new Generator(child));
    }
    await Promise.all(
      generators.map(async (g) => {
        const ready = new Promise<void>((resolve) => g.child.on('message', (m: FromGenerator) => m.ev === 'ready' && resolve()));
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`a generator was not ready within ${readyTimeoutMs} ms`)), readyTimeoutMs);
        });
        const died = g.exited.then(() => Promise.reject(new Error('a generator exited during start-up')));
        try {
          await Promise.race([ready, timeout, died]);
        } finally {
          clearTimeout(timer);
        }
      }),
    );
  } catch (err) {
    killAll();
    process.removeListener('exit', killAll);
    throw err;
  }

  let stopping: Promise<void> | undefined;
  return {
    pids: generators.map((g) => g.child.pid ?? -1),
    size: generators.length,
    async open(plans) {
      if (plans.length !== generators.length) throw new RangeError(`${plans.length} plans for ${generators.length} generators`);
      return Promise.all(
        generators.map(async (g, i) => {
          const plan = plans[i] as SwarmPlan;
          const m = await g.request((id) => ({ cmd: 'open', id, plan }), plan.openTimeoutMs + 30_000);
          return expect(m, 'opened').summary;
        }),
      );
    },
    async report(timeoutMs = 60_000) {
      return Promise.all(generators.map(async (g) => expect(await g.request((id) => ({ cmd: 'report', id }), timeoutMs), 'report').report));
    },
    async closeSockets(timeoutMs) {
      await Promise.all(
        generators.map(async (g) => expect(await g.request((id) => ({ cmd: 'close', id, timeoutMs }), timeoutMs + 10_000), 'closed')),
      );
    },
    stop(graceMs = 5_000) {
      stopping ??= (async () => {
        await Promise.all(
          generators.map(async (g) => {
            if (g.child.exitCode !== null || g.child.signalCode !== null) return;
            if (g.child.connected) g.child.disconnect(); // the worker closes its sockets and exits
            const timer = setTimeout(() => g.child.kill('SIGKILL'), graceMs);
            await g.exited;
            clearTimeout(timer);
          }),
        );
        process.removeListener('exit', killAll);
      })();
      return stopping;
    },
  };
}
