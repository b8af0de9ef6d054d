/**
 * Each benchmark run gives its servers a JetStream stream and subject root of its own
 * (NATS_STREAM, NATS_SUBJECT_PREFIX), so it neither reads nor disturbs anybody else's events,
 * and removes the stream afterwards: its events have no use once the run is over.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

/** Stream name and subject root of one run: `BENCH_<id>` / `bench-<id>`. */
export function benchStream(runId: string): { name: string; subjectPrefix: string } {
  const id = runId.replace(/[^a-z0-9]/gi, '').toLowerCase();
  return { name: `BENCH_${id.toUpperCase()}`, subjectPrefix: `bench-${id}` };
}

/** Deletes the stream if it exists; false when there was none. */
export async function deleteStream(url: string, name: string, timeoutMs = 10_000): Promise<boolean> {
  const nc = await connect({ servers: url, timeout: timeoutMs, name: 'waiting-room-bench-cleanup' });
  try {
    const jsm = await jetstreamManager(nc, { timeout: timeoutMs });
    return await jsm.streams.delete(name).catch((err: unknown) => {
      if (err instanceof Error && /not found/i.test(err.message)) return false;
      throw err;
    });
  } finally {
    await nc.close();
  }
}
