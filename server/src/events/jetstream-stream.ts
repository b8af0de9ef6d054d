import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
  type StreamUpdateConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';

export interface StreamSettings {
  name: string;
  subjectPrefix: string;
  replicas: number;
  maxAgeSeconds: number;
  /** Unset: no byte limit (max_age alone bounds the stream). */
  maxBytes?: number;
}

/** JetStream's default window for `Nats-Msg-Id` de-duplication; it may not exceed max_age. */
const DEFAULT_DUPLICATE_WINDOW_MS = 120_000;
/** Server error "stream name already in use with a different configuration". */
const STREAM_NAME_IN_USE = 10058;

/** The fields this bus owns. Retention is limits-based: events are a feed, not a work queue. */
export function desiredStreamConfig(s: StreamSettings): Partial<StreamConfig> & { name: string } {
  const maxAgeMs = s.maxAgeSeconds * 1000;
  return {
    name: s.name,
    subjects: [`${s.subjectPrefix}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    num_replicas: s.replicas,
    max_age: nanos(maxAgeMs),
    max_bytes: s.maxBytes ?? -1,
    duplicate_window: nanos(Math.min(DEFAULT_DUPLICATE_WINDOW_MS, maxAgeMs)),
  };
}

/** The updatable fields where the running stream differs from `want` (empty: nothing to do). */
function driftedFields(have: StreamConfig, want: ReturnType<typeof desiredStreamConfig>): Partial<StreamUpdateConfig> {
  const drift: Partial<StreamUpdateConfig> = {};
  const sameSubjects =
    have.subjects?.length === want.subjects?.length && (want.subjects ?? []).every((s) => have.subjects?.includes(s));
  if (!sameSubjects) drift.subjects = want.subjects;
  if (have.num_replicas !== want.num_replicas) drift.num_replicas = want.num_replicas;
  if (have.max_age !== want.max_age) drift.max_age = want.max_age;
  if (have.max_bytes !== want.max_bytes) drift.max_bytes = want.max_bytes;
  if (have.duplicate_window !== want.duplicate_window) drift.duplicate_window = want.duplicate_window;
  if (have.discard !== want.discard) drift.discard = want.discard;
  return drift;
}

/**
 * Creates the stream, or brings an existing one to this node's settings. Safe to run from several
 * nodes at once: creating an identical stream twice succeeds, and losing a creation race to a
 * node with other settings turns into an update.
 */
export async function ensureStream(
  jsm: JetStreamManager,
  settings: StreamSettings,
  /** Runs before creating a missing stream (the bus waits there when a stream it knew vanished). */
  beforeCreate?: () => Promise<void>,
): Promise<{ info: StreamInfo; action: 'created' | 'updated' | 'unchanged' }> {
  const want = desiredStreamConfig(settings);
  for (let attempt = 0; ; attempt++) {
    let existing: StreamInfo | undefined;
    try {
      existing = await jsm.streams.info(settings.name);
    } catch (err) {
      if (!isStreamNotFound(err)) throw err;
    }
    if (!existing) {
      await beforeCreate?.();
      try {
        return { info: await jsm.streams.add(want), action: 'created' };
      } catch (err) {
        // Another node created it first with other settings: go round once more and update.
        if (attempt < 2 && err instanceof JetStreamApiError && err.code === STREAM_NAME_IN_USE) continue;
        throw err;
      }
    }
    if (existing.config.retention !== want.retention || existing.config.storage !== want.storage) {
      throw new Error(
        `stream ${settings.name} exists with retention ${existing.config.retention} / storage ${existing.config.storage}; ` +
          `these cannot be changed in place (want ${want.retention} / ${want.storage})`,
      );
    }
    const drift = driftedFields(existing.config, want);
    if (Object.keys(drift).length === 0) return { info: existing, action: 'unchanged' };
    return { info: await jsm.streams.update(settings.name, drift), action: 'updated' };
  }
}

function isStreamNotFound(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound;
}
