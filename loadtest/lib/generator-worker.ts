/**
 * The child process of generators.ts: holds one swarm, answers the parent's commands over IPC,
 * and closes its sockets and exits when the parent goes away.
 */
import type { FromGenerator, ToGenerator } from './generators.js';
import { startSwarm, type Swarm } from './swarm.js';

if (!process.send) throw new Error('generator-worker runs as a child process (generators.ts starts it)');

let swarm: Swarm | undefined;

function reply(m: FromGenerator): void {
  process.send?.(m);
}

async function handle(m: ToGenerator): Promise<void> {
  switch (m.cmd) {
    case 'open': {
      if (swarm && swarm.report().open > 0) throw new Error('a swarm is still open: close it first');
      swarm = startSwarm(m.plan);
      reply({ ev: 'opened', id: m.id, summary: await swarm.opened });
      return;
    }
    case 'report':
      if (!swarm) throw new Error('no swarm opened yet');
      reply({ ev: 'report', id: m.id, report: swarm.report() });
      return;
    case 'close':
      await swarm?.close(m.timeoutMs);
      reply({ ev: 'closed', id: m.id });
      return;
  }
}

process.on('message', (m: ToGenerator) => {
  handle(m).catch((err: unknown) => {
    reply({ ev: 'failed', id: m.id, error: err instanceof Error ? err.message : String(err) });
  });
});

process.on('disconnect', () => {
  void (swarm?.close(2_000) ?? Promise.resolve()).finally(() => process.exit(0));
});

reply({ ev: 'ready' });
