import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream, jetstreamManager, type Consumer, type ConsumerMessages, type JetStreamClient } from '@nats-io/jetstream';
import { connect, headers, TimeoutError, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../observability/logger.js';
import { decodeEvent, DEFAULT_SUBJECT_PREFIX, isValidSubjectPrefix, subjectFor } from './codec.js';
import { createJetStreamPublisher, type JetStreamPublisher } from './jetstream-publish.js';
import { ensureStream, type StreamSettings } from './jetstream-stream.js';
import type { EventBus, EventHandler, WaitingRoomEvent } from './types.js';

export interface JetStreamEventBusOptions {
  url: string;
  /** Names the NATS connection; events carry it as `source` (set by the publisher). */
  nodeId: string;
  /** Default 'WAITINGROOM'. */
  streamName?: string;
  /** Subject root, default 'waitingroom'. Two streams cannot capture the same subjects, so tests use their own. */
  subjectPrefix?: string;
  /** Default 1. */
  replicas?: number;
  /** Retention, default 3600. */
  maxAgeSeconds?: number;
  /** Optional byte limit of the stream (oldest events go first). */
  maxBytes?: number;
  /** Events held while NATS is away, default 10,000; beyond it the oldest is dropped. */
  maxPendingPublishes?: number;
  /** How long start-up waits for NATS before going on without it, default 2,000 ms. */
  startupWaitMs?: number;
  log: Logger;
  /** Called once per event that will never reach JetStream (buffer overflow, rejected, unencodable, closed). */
  onPublishFailure?: (err: EventPublishError) => void;
  onHandlerError?: (err: unknown) => void;
}

export type JetStreamBusStatus = 'connected' | 'reconnecting' | 'closed';

export interface JetStreamEventBus extends EventBus {
  /** 'connected' once the connection is up and the stream is in place. */
  status(): JetStreamBusStatus;
  /** Events waiting for (or in the middle of) their JetStream publish. */
  pendingPublishes(): number;
}

export type PublishFailureReason = 'buffer_overflow' | 'rejected' | 'unencodable' | 'closed';

export class EventPublishError extends Error {
  override readonly name = 'EventPublishError';
  constructor(
    readonly reason: PublishFailureReason,
    readonly eventId: string,
    options?: ErrorOptions,
  ) {
    super(`event ${eventId} not published: ${reason}`, options);
  }
}

interface PendingPublish {
  id: string;
  subject: string;
  payload: Uint8Array;
  attempts: number;
}

/** Publishes in flight at once: pipelining keeps throughput off the round-trip time. */
const PUBLISH_WINDOW = 128;
const PUBLISH_TIMEOUT_MS = 2_000;
/** Attempts made while connected; failures during an outage don't count. */
const MAX_PUBLISH_ATTEMPTS = 5;
const CLOSE_FLUSH_MS = 2_000;
const STREAM_RECREATE_DELAY_MS = 1_000;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5_000;
/** Marks messages published by this bus instance, which its subscribers already got locally. */
const ORIGIN_HEADER = 'Wr-Origin';

/** Capped exponential delay with jitter (half fixed, half random): never a hot loop. */
function retryDelayMs(attempt: number): number {
  const capped = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(Math.max(attempt - 1, 0), 16));
  return capped / 2 + (Math.random() * capped) / 2;
}

const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * The distributed bus. Local subscribers get this node's events at once, whatever NATS does;
 * a bounded buffer carries them to JetStream in the background, and every node consumes the
 * stream from "now" with an ordered consumer. A NATS outage therefore degrades pushes to what
 * each node knows locally and never blocks or fails the caller.
 *
 * - Start-up does not require NATS: the factory waits up to `startupWaitMs` for the connection,
 *   the stream and the consumer, then returns anyway and keeps connecting in the background
 *   (events published meanwhile are buffered).
 * - "Now" is the stream's last sequence when the node first sees it, and every consumer after
 *   that starts at the last sequence consumed + 1 (not `deliver_policy: new`): after an outage
 *   the node catches up on what it missed, and never replays the stream's whole retention.
 * - A node skips its own messages by an origin header naming this bus instance, not by
 *   `source`, so its subscribers get its events exactly once whatever `source` says.
 */
export async function createJetStreamEventBus(opts: JetStreamEventBusOptions): Promise<JetStreamEventBus> {
  const subjectPrefix = opts.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX;
  if (!isValidSubjectPrefix(subjectPrefix)) throw new Error(`invalid subject prefix: ${subjectPrefix}`);
  const stream: StreamSettings = {
    name: opts.streamName ?? 'WAITINGROOM',
    subjectPrefix,
    replicas: opts.replicas ?? 1,
    maxAgeSeconds: opts.maxAgeSeconds ?? 3600,
    ...(opts.maxBytes !== undefined ? { maxBytes: opts.maxBytes } : {}),
  };
  const maxPending = opts.maxPendingPublishes ?? 10_000;
  const log = opts.log.child({ component: 'events', stream: stream.name });
  const onHandlerError = opts.onHandlerError ?? ((err: unknown) => log.error({ err }, 'event handler failed'));
  const instanceId = `${opts.nodeId}/${randomUUID()}`;
  const encoder = new TextEncoder();
  const publishHeaders = headers();
  publishHeaders.set(ORIGIN_HEADER, instanceId);

  const handlers = new Set<EventHandler>();
  const pending: PendingPublish[] = [];
  let inFlight = 0;
  let nc: NatsConnection | undefined;
  let linkUp = false;
  let streamReady = false;
  /** Bumped on every disconnect and reconnect, so stale set-up work stops. */
  let linkGeneration = 0;
  /** Stream sequence of the last event consumed; undefined until the stream is first seen. */
  let lastSeq: number | undefined;
  let streamCreated: string | undefined;
  let activeMessages: ConsumerMessages | undefined;
  let activeConsumer: Consumer | undefined;
  let closeRequested = false;
  let stopped = false;
  const stop = new AbortController();

  // One wake-up for every waiter: the pump, the consumer, close(). They re-check their state.
  let wake: { promise: Promise<void>; resolve: () => void } | undefined;
  const changed = () => {
    if (!wake) {
      let resolve = () => {};
      const promise = new Promise<void>((r) => (resolve = r));
      wake = { promise, resolve };
    }
    return wake.promise;
  };
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.resolve();
  };
  // Set while a publish window waits for its acks. Not changed(): every publish() notifies.
  let endAckWait: (() => void) | undefined;
  /** A new link (or none): the window in flight stops waiting; what it lacks is retried, by id. */
  const nextLinkGeneration = () => {
    linkGeneration++;
    endAckWait?.();
  };
  const pause = (ms: number) => sleep(ms, undefined, { signal: stop.signal }).catch(() => {});
  const ready = () => linkUp && streamReady;

  let firstStart = () => {};
  const started = new Promise<void>((r) => (firstStart = r));

  let failures = 0;
  let lastFailureLog = 0;
  function fail(err: EventPublishError) {
    failures++;
    if (Date.now() - lastFailureLog > 5_000) {
      lastFailureLog = Date.now();
      log.warn(
        { reason: err.reason, cause: err.cause === undefined ? undefined : errorMessage(err.cause), failures },
        'event not published to JetStream',
      );
    }
    try {
      opts.onPublishFailure?.(err);
    } catch (cbErr) {
      log.error({ err: cbErr }, 'onPublishFailure threw');
    }
  }

  function deliver(event: WaitingRoomEvent) {
    for (const handler of handlers) {
      try {
        handler(event);
      } catch (err) {
        onHandlerError(err);
      }
    }
  }

  function dropOverflow() {
    while (pending.length > maxPending) {
      const dropped = pending.shift();
      if (dropped) fail(new EventPublishError('buffer_overflow', dropped.id));
    }
  }

  /** Connects (retrying with a capped delay), serves the connection until it closes for good, repeats. */
  async function run() {
    for (let attempt = 1; !stopped; ) {
      let conn: NatsConnection;
      try {
        conn = await connect({
          servers: opts.url,
          name: opts.nodeId,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 500,
          pingInterval: 10_000,
          timeout: 5_000,
          // An Error per request for async stack traces cost ~4 % of a node's CPU on the join path.
          noAsyncTraces: true,
        });
      } catch (err) {
        if (attempt === 1 || attempt % 20 === 0) {
          log.warn({ err: errorMessage(err), attempt }, 'NATS unreachable: events stay local until it is back');
        }
        await pause(retryDelayMs(attempt++));
        continue;
      }
      attempt = 1;
      if (stopped) {
        await conn.close();
        break;
      }
      nc = conn;
      log.info({ server: conn.getServer() }, 'connected to NATS');
      await serve(conn);
      nc = undefined;
      if (!stopped) log.warn('NATS connection closed: connecting again');
    }
  }

  async function serve(conn: NatsConnection) {
    linkUp = true;
    nextLinkGeneration();
    const js = jetstream(conn, { timeout: PUBLISH_TIMEOUT_MS });
    const closed = conn.closed().then(() => {
      linkUp = false;
      streamReady = false;
      nextLinkGeneration();
      notify();
    });
    void watchStatus(conn);
    void prepareLink(conn, linkGeneration);
    await Promise.all([pump(conn), consume(conn, js), closed]);
  }

  async function watchStatus(conn: NatsConnection) {
    for await (const s of conn.status()) {
      if (s.type === 'disconnect') {
        linkUp = false;
        streamReady = false;
        nextLinkGeneration();
        log.warn({ server: s.server }, 'NATS disconnected: buffering events');
        activeMessages?.stop();
        notify();
      } else if (s.type === 'reconnect') {
        linkUp = true;
        nextLinkGeneration();
        log.info({ server: s.server }, 'NATS reconnected');
        void prepareLink(conn, linkGeneration);
      }
    }
  }

  /** Makes sure the stream exists (again) on this link: a restarted server may have lost it. */
  async function prepareLink(conn: NatsConnection, generation: number) {
    for (let attempt = 1; generation === linkGeneration && !conn.isClosed() && !stopped; attempt++) {
      try {
        const jsm = await jetstreamManager(conn, { timeout: PUBLISH_TIMEOUT_MS });
        const { info, action } = await ensureStream(jsm, stream, async () => {
          if (streamCreated === undefined) return;
          // nats-server 2.9 reports a deleted stream gone before it has finished deleting it; a
          // stream created again by the same name at once can come out unable to deliver.
          log.warn('event stream is gone: creating it again');
          await pause(STREAM_RECREATE_DELAY_MS);
        });
        if (generation !== linkGeneration) return;
        if (action !== 'unchanged') log.info({ action, subjects: info.config.subjects }, 'event stream ready');
        if (lastSeq === undefined) {
          lastSeq = info.state.last_seq; // consume from "now"
        } else if (info.created !== streamCreated) {
          // Deleted and created again (by us or another node): its sequences started over.
          log.warn('event stream was recreated: consuming it from its start');
          lastSeq = Math.max(0, info.state.first_seq - 1);
        }
        streamCreated = info.created;
        streamReady = true;
        notify();
        return;
      } catch (err) {
        if (attempt === 1 || attempt % 10 === 0) log.warn({ err: errorMessage(err), attempt }, 'event stream not ready');
        await pause(retryDelayMs(attempt));
      }
    }
  }

  /** Background publisher: drains the buffer into JetStream in order, a window at a time. */
  async function pump(conn: NatsConnection) {
    const publisher = createJetStreamPublisher(conn, publishHeaders, (err) =>
      log.error({ err: errorMessage(err) }, 'JetStream ack subscription failed: publishes will time out'),
    );
    while (!stopped && !conn.isClosed()) {
      if (!ready() || pending.length === 0) {
        await changed();
        continue;
      }
      const generation = linkGeneration;
      const batch = pending.splice(0, PUBLISH_WINDOW);
      inFlight = batch.length;
      const outcomes = await publishWindow(publisher, batch);
      inFlight = 0;
      const linkHeld = generation === linkGeneration && ready();
      const retry: PendingPublish[] = [];
      let firstError: unknown;
      let noAck: Error | undefined; // made once per window, and only when some ack is missing
      outcomes.forEach((outcome, i) => {
        const p = batch[i];
        if (outcome === 'stored' || !p) return;
        const err =
          outcome ??
          (noAck ??= generation === linkGeneration ? new TimeoutError() : new Error('NATS link changed before the ack'));
        firstError ??= err;
        if (linkHeld) p.attempts++;
        if (p.attempts >= MAX_PUBLISH_ATTEMPTS) fail(new EventPublishError('rejected', p.id, { cause: err }));
        else retry.push(p);
      });
      if (retry.length > 0) {
        pending.unshift(...retry);
        dropOverflow();
      }
      if (firstError !== undefined && linkHeld) {
        // Connected yet refused (stream deleted, JetStream restarting, timeouts): check the stream, back off.
        log.warn({ err: errorMessage(firstError), retrying: retry.length }, 'JetStream publish failed');
        streamReady = false;
        void prepareLink(conn, linkGeneration);
        await pause(retryDelayMs(Math.max(...retry.map((p) => p.attempts), 1)));
      }
      notify();
    }
  }

  /** Publishes one window; waits for all its acks, one timeout, or the link to change, whichever comes first. */
  async function publishWindow(publisher: JetStreamPublisher, batch: readonly PendingPublish[]) {
    const window = publisher.publish(batch);
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, PUBLISH_TIMEOUT_MS);
      endAckWait = resolve;
    });
    await Promise.race([window.settled, gaveUp]);
    clearTimeout(timer);
    endAckWait = undefined;
    return window.close(); // acks still on their way are ignored
  }

  /** Consumes the whole stream from where this node left off; recreated after outages and failures. */
  async function consume(conn: NatsConnection, js: JetStreamClient) {
    let failuresInARow = 0;
    while (!stopped && !conn.isClosed()) {
      if (!ready()) {
        await changed();
        continue;
      }
      const generation = linkGeneration;
      let consumer: Consumer | undefined;
      try {
        consumer = await js.consumers.get(stream.name, { opt_start_seq: (lastSeq ?? 0) + 1 });
        activeConsumer = consumer;
        // A consumer lost while connected (deleted with its stream, say) shows within ~2 missed
        // heartbeats. The iterator then ends instead of the library repairing it in place: a
        // recreated stream starts its sequences over, which only prepareLink can notice.
        const messages = await consumer.consume({
          max_messages: 256,
          expires: 10_000,
          idle_heartbeat: 1_000,
          abort_on_missing_resource: true,
        });
        activeMessages = messages;
        if (generation !== linkGeneration) messages.stop(); // the link dropped while we set up
        void restartOnMissedHeartbeats(messages);
        firstStart();
        for await (const m of messages) {
          failuresInARow = 0;
          lastSeq = m.seq;
          receive(m.subject, m.seq, m.data, m.headers);
        }
      } catch (err) {
        if (!stopped) log.warn({ err: errorMessage(err) }, 'event consumer failed');
      } finally {
        activeMessages = undefined;
        activeConsumer = undefined;
        // Ephemeral consumers expire on their own (5 min idle); deleting spares the server the wait.
        if (!stopped) consumer?.delete().catch(() => {});
      }
      if (stopped || conn.isClosed()) break;
      if (generation !== linkGeneration) continue; // stopped by a disconnect: wait for the link, no penalty
      // Check the stream before consuming again: it may be gone or new. Waiting first also keeps
      // clear of a server race: a 409 arrives while a stream deletion is still under way.
      failuresInARow++;
      streamReady = false;
      await pause(retryDelayMs(failuresInARow));
      void prepareLink(conn, linkGeneration);
    }
  }

  /**
   * Missed heartbeats while connected mean this client no longer hears from its consumer. The
   * library would only pull again, and under load we saw a consumer stay deaf that way (the
   * server delivering, the client's pulls piling up): starting afresh from the last sequence
   * consumed loses nothing.
   */
  async function restartOnMissedHeartbeats(messages: ConsumerMessages) {
    for await (const s of messages.status()) {
      if (s.type === 'heartbeats_missed' && ready()) {
        log.warn({ count: s.count }, 'event consumer missed heartbeats: recreating it');
        messages.stop();
        return;
      }
    }
  }

  function receive(subject: string, seq: number, data: Uint8Array, hdrs: MsgHdrs | undefined) {
    if (hdrs?.get(ORIGIN_HEADER) === instanceId) return; // delivered locally at publish
    const decoded = decodeEvent(data);
    if ('error' in decoded) {
      log.warn({ subject, seq, reason: decoded.error }, 'skipping malformed event');
      return;
    }
    deliver(decoded.event);
  }

  const running = run().catch((err: unknown) => log.error({ err }, 'event bus stopped unexpectedly'));

  const startupTimer = new AbortController();
  const connectedInTime = await Promise.race([
    started.then(() => true),
    sleep(opts.startupWaitMs ?? 2_000, false, { signal: startupTimer.signal }).catch(() => false),
  ]);
  startupTimer.abort();
  if (!connectedInTime) {
    log.warn({ url: opts.url }, 'NATS events not ready yet: starting anyway; events stay local until they are');
  }

  return {
    publish(event) {
      if (stopped) {
        fail(new EventPublishError('closed', event.id));
        return;
      }
      queueMicrotask(() => deliver(event));
      let payload: Uint8Array;
      try {
        payload = encoder.encode(JSON.stringify(event));
      } catch (err) {
        fail(new EventPublishError('unencodable', event.id, { cause: err }));
        return;
      }
      pending.push({ id: event.id, subject: subjectFor(subjectPrefix, event.type), payload, attempts: 0 });
      dropOverflow();
      notify();
    },
    subscribe(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    healthy: () => !stopped && ready(),
    status: () => (stopped ? 'closed' : ready() ? 'connected' : 'reconnecting'),
    pendingPublishes: () => pending.length + inFlight,
    async close() {
      if (closeRequested) return;
      closeRequested = true;
      const deadline = Date.now() + CLOSE_FLUSH_MS;
      while (nc && pending.length + inFlight > 0 && Date.now() < deadline) {
        await Promise.race([changed(), sleep(50)]);
      }
      stopped = true;
      stop.abort();
      activeMessages?.stop();
      notify();
      if (activeConsumer && ready()) await Promise.race([activeConsumer.delete().catch(() => {}), sleep(500)]);
      await nc?.close().catch(() => {});
      // A connection attempt in progress may take its timeout to fail; run() closes it if it succeeds.
      await Promise.race([running, sleep(1_000)]);
      if (pending.length > 0) {
        log.warn({ lost: pending.length }, 'closing with unpublished events');
        for (const p of pending.splice(0)) fail(new EventPublishError('closed', p.id));
      }
      handlers.clear();
    },
  };
}
