import { randomUUID } from 'node:crypto';
import { DiscardPolicy, JetStreamApiError, jetstreamManager, type StreamUpdateConfig } from '@nats-io/jetstream';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createJetStreamEventBus, type EventPublishError, type JetStreamEventBus, type JetStreamEventBusOptions } from '../../src/events/jetstream.js';
import type { EventType, WaitingRoomEvent } from '../../src/events/types.js';
import { createLogger } from '../../src/observability/logger.js';
import { startNatsServer, type NatsServerProcess } from '../support/nats.js';
import { sleep, waitFor } from '../support/nodes.js';
import { freePort } from '../support/process.js';

const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');

/** Each test gets its own stream and subject root: streams may not share subjects. */
function uniqueStream() {
  const id = randomUUID().replaceAll('-', '').slice(0, 12);
  return { streamName: `WR_TEST_${id}`, subjectPrefix: `wrtest_${id}` };
}

function makeEvent(source: string, n: number, type: EventType = 'position.enqueued'): WaitingRoomEvent {
  return {
    id: randomUUID(),
    version: 1,
    type,
    timestamp: new Date(1_700_000_000_000 + n).toISOString(),
    source,
    queue_id: 'q-events',
    data: { n, position_id: `p-${n}`, nested: { list: [1, 'two', null, { three: true }] }, text: 'zß ✓ 😀' },
  };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

const buses: JetStreamEventBus[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.close()));
});

interface Node {
  bus: JetStreamEventBus;
  got: WaitingRoomEvent[];
  publishFailures: EventPublishError[];
  handlerErrors: unknown[];
}

async function startBus(
  url: string,
  nodeId: string,
  stream: { streamName: string; subjectPrefix: string },
  extra: Partial<JetStreamEventBusOptions> = {},
): Promise<Node> {
  const publishFailures: EventPublishError[] = [];
  const handlerErrors: unknown[] = [];
  const bus = await createJetStreamEventBus({
    url,
    nodeId,
    ...stream,
    log,
    onPublishFailure: (err) => publishFailures.push(err),
    onHandlerError: (err) => handlerErrors.push(err),
    ...extra,
  });
  buses.push(bus);
  const got: WaitingRoomEvent[] = [];
  bus.subscribe((e) => got.push(e));
  return { bus, got, publishFailures, handlerErrors };
}

/** Waits for `check`; on timeout the error names the check and, given `diagnose`, what it found. */
async function until(check: () => boolean, timeoutMs = 10_000, diagnose?: () => Promise<string>): Promise<void> {
  try {
    await waitFor(() => (check() ? true : undefined), timeoutMs, 10);
  } catch {
    const found = diagnose ? `\n${await diagnose().catch((err: unknown) => String(err))}` : '';
    throw new Error(`timed out after ${timeoutMs} ms waiting for: ${check.toString()}${found}`);
  }
}

/** Stream state and its consumers' progress, for timeouts that would otherwise say nothing. */
async function describeStream(url: string, name: string, nodes: Record<string, Node>): Promise<string> {
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    const lines = [`stream ${name}: ${JSON.stringify((await jsm.streams.info(name)).state)}`];
    for await (const ci of jsm.consumers.list(name)) {
      lines.push(`consumer ${ci.name}: start ${ci.config.opt_start_seq} delivered ${JSON.stringify(ci.delivered)} pending ${ci.num_pending} waiting ${ci.num_waiting}`);
    }
    for (const [id, n] of Object.entries(nodes)) {
      lines.push(`${id}: ${n.bus.status()}, ${n.bus.pendingPublishes()} pending, got ${JSON.stringify(n.got.map((e) => `${e.source}#${String(e.data.n)}`))}`);
    }
    return lines.join('\n');
  } finally {
    await nc.close();
  }
}

async function streamInfo(url: string, name: string) {
  const nc = await connect({ servers: url });
  try {
    return await (await jetstreamManager(nc)).streams.info(name);
  } finally {
    await nc.close();
  }
}

async function updateStream(url: string, name: string, change: Partial<StreamUpdateConfig>) {
  const nc = await connect({ servers: url });
  try {
    await (await jetstreamManager(nc)).streams.update(name, change);
  } finally {
    await nc.close();
  }
}

/** A logger that keeps the bus's warnings, to see why a publish failed. */
function capturingLogger() {
  const lines: { msg?: string; err?: string }[] = [];
  const logger = createLogger('warn', { write: (line: string) => void lines.push(JSON.parse(line) as { msg?: string; err?: string }) });
  return { logger, publishErrors: () => lines.filter((l) => l.msg === 'JetStream publish failed').map((l) => l.err ?? '') };
}

const watchers: NatsConnection[] = [];
afterEach(async () => {
  await Promise.all(watchers.splice(0).map((nc) => nc.close()));
});

/** A plain NATS subscriber on the bus's subjects: it sees every publish attempt and answers none. */
async function watchPublishes(url: string, subjectPrefix: string) {
  const nc = await connect({ servers: url });
  watchers.push(nc);
  const attempts: { id: string; origin: string }[] = [];
  nc.subscribe(`${subjectPrefix}.>`, {
    callback: (_err, m) => {
      attempts.push({ id: m.headers?.get('Nats-Msg-Id') ?? '', origin: m.headers?.get('Wr-Origin') ?? '' });
    },
  });
  await nc.flush();
  return {
    attempts,
    count: (id: string) => attempts.filter((a) => a.id === id).length,
  };
}

/** The event ids stored in a stream, in stream order. */
async function storedIds(url: string, name: string): Promise<string[]> {
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    const { state } = await jsm.streams.info(name);
    const ids: string[] = [];
    for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
      const stored = await jsm.streams.getMessage(name, { seq });
      if (stored) ids.push(stored.json<WaitingRoomEvent>().id);
    }
    return ids;
  } finally {
    await nc.close();
  }
}

describe('JetStream event bus', () => {
  let nats: NatsServerProcess;
  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterAll(async () => {
    await nats?.dispose();
  });

  it('delivers every event to the other node intact and in order, and to its own node exactly once', async () => {
    const stream = uniqueStream();
    const a = await startBus(nats.url, 'node-a', stream);
    const b = await startBus(nats.url, 'node-b', stream);
    expect(a.bus.healthy()).toBe(true);
    expect(b.bus.status()).toBe('connected');

    const events = range(1000).map((n) => makeEvent('node-a', n));
    for (const e of events) a.bus.publish(e);
    await Promise.resolve();
    expect(a.got).toHaveLength(1000); // local delivery does not wait for NATS

    const diagnose = () => describeStream(nats.url, stream.streamName, { a, b });
    await until(() => b.got.length >= 1000, 10_000, diagnose);
    const back = makeEvent('node-b', 0, 'position.admitted');
    b.bus.publish(back);
    await until(() => a.got.length >= 1001, 10_000, diagnose);
    await sleep(300); // time for any duplicate to show up

    expect(b.got.slice(0, 1000)).toEqual(events); // all fields, publish order, nothing twice
    expect(b.got).toEqual([...events, back]);
    expect(a.got).toEqual([...events, back]);
    expect(a.bus.pendingPublishes()).toBe(0);
    expect([...a.publishFailures, ...b.publishFailures, ...a.handlerErrors, ...b.handlerErrors]).toEqual([]);
    expect(await storedIds(nats.url, stream.streamName)).toHaveLength(1001);
  });

  it('creates the stream idempotently from concurrent starts and updates changed settings', async () => {
    const stream = uniqueStream();
    const [a, b, c] = await Promise.all(['node-a', 'node-b', 'node-c'].map((id) => startBus(nats.url, id, stream)));
    if (!a || !b || !c) throw new Error('unreachable');
    for (const n of [a, b, c]) expect(n.bus.healthy()).toBe(true);

    const info = await streamInfo(nats.url, stream.streamName);
    expect(info.config.subjects).toEqual([`${stream.subjectPrefix}.>`]);
    expect(info.config.max_age).toBe(nanos(3600 * 1000));
    expect(info.config.retention).toBe('limits');

    const fromA = makeEvent('node-a', 1);
    const fromC = makeEvent('node-c', 2, 'queue.updated');
    a.bus.publish(fromA);
    c.bus.publish(fromC);
    await until(() => b.got.length >= 2, 10_000, () => describeStream(nats.url, stream.streamName, { a, b, c }));
    expect(b.got).toEqual(expect.arrayContaining([fromA, fromC]));

    // A node restarting with another retention brings the shared stream to it.
    await c.bus.close();
    const d = await startBus(nats.url, 'node-c', stream, { maxAgeSeconds: 90, maxBytes: 1_000_000 });
    const updated = await streamInfo(nats.url, stream.streamName);
    expect(updated.config.max_age).toBe(nanos(90_000));
    expect(updated.config.max_bytes).toBe(1_000_000);
    expect(updated.config.duplicate_window).toBe(nanos(90_000)); // never above max_age
    expect(updated.state.messages).toBe(2); // updated in place, not recreated

    const later = makeEvent('node-a', 3);
    a.bus.publish(later);
    await until(() => d.got.length >= 1, 10_000, () => describeStream(nats.url, stream.streamName, { a, b, d }));
    expect(d.got).toEqual([later]); // a node consumes from "now"
  });

  it('skips malformed messages on the subjects and keeps consuming', async () => {
    const stream = uniqueStream();
    const a = await startBus(nats.url, 'node-a', stream);
    const b = await startBus(nats.url, 'node-b', stream);

    const raw = await connect({ servers: nats.url });
    const foreign = makeEvent('node-x', 1, 'session.started');
    try {
      raw.publish(`${stream.subjectPrefix}.queue.updated.v1`, 'not json {');
      raw.publish(`${stream.subjectPrefix}.queue.updated.v1`, JSON.stringify({ id: 'x', type: 'queue.updated' }));
      raw.publish(`${stream.subjectPrefix}.queue.updated.v1`, JSON.stringify({ ...makeEvent('node-x', 0), type: 'nope' }));
      raw.publish(`${stream.subjectPrefix}.session.started.v1`, JSON.stringify(foreign));
      await raw.flush();
    } finally {
      await raw.close();
    }
    const fromA = makeEvent('node-a', 2);
    a.bus.publish(fromA);

    await until(() => b.got.length >= 2, 10_000, () => describeStream(nats.url, stream.streamName, { a, b }));
    await sleep(200);
    expect(b.got).toEqual([foreign, fromA]);
    expect(a.got).toHaveLength(2); // its own event at once, the foreign one when it arrives
    expect(a.got).toEqual(expect.arrayContaining([foreign, fromA]));
    expect([...a.handlerErrors, ...b.handlerErrors]).toEqual([]);
  });

  it('recreates a deleted stream and consumes the new one from its start', async () => {
    const stream = uniqueStream();
    const a = await startBus(nats.url, 'node-a', stream);
    const b = await startBus(nats.url, 'node-b', stream);
    const first = makeEvent('node-a', 0);
    a.bus.publish(first);
    await until(() => b.got.length === 1);

    const nc = await connect({ servers: nats.url });
    try {
      await (await jetstreamManager(nc)).streams.delete(stream.streamName);
    } finally {
      await nc.close();
    }
    // The nodes notice (a 409 to a waiting pull, or missed heartbeats) and put the stream back.
    // Publishing only then keeps the test off a server race: a publish right after the delete
    // can still be stored (and acknowledged) in the dying stream.
    await waitFor(() => streamInfo(nats.url, stream.streamName).catch(() => undefined), 10_000, 50);
    const afterDelete = range(20).map((n) => makeEvent('node-a', n + 1));
    for (const e of afterDelete) a.bus.publish(e);

    await until(() => b.got.length >= 21, 10_000, () => describeStream(nats.url, stream.streamName, { a, b }));
    await sleep(200);
    expect(b.got).toEqual([first, ...afterDelete]);
    expect(a.got).toEqual([first, ...afterDelete]);
    expect(await storedIds(nats.url, stream.streamName)).toEqual(afterDelete.map((e) => e.id));
    expect(a.publishFailures).toEqual([]);
  });

  it('retries publishes JetStream refuses while connected, after putting its stream settings back', async () => {
    const stream = uniqueStream();
    const a = await startBus(nats.url, 'node-a', stream);
    const b = await startBus(nats.url, 'node-b', stream);
    const first = makeEvent('node-a', 0);
    a.bus.publish(first);
    await until(() => b.got.length === 1);

    // Someone squeezes the stream: full, and refusing new messages.
    const nc = await connect({ servers: nats.url });
    try {
      const jsm = await jetstreamManager(nc);
      const { state } = await jsm.streams.info(stream.streamName);
      await jsm.streams.update(stream.streamName, { discard: DiscardPolicy.New, max_bytes: state.bytes });
    } finally {
      await nc.close();
    }
    const refused = range(5).map((n) => makeEvent('node-a', n + 1));
    for (const e of refused) a.bus.publish(e);

    await until(() => b.got.length >= 6, 10_000, () => describeStream(nats.url, stream.streamName, { a, b }));
    expect(b.got).toEqual([first, ...refused]);
    expect(a.publishFailures).toEqual([]);
    const info = await streamInfo(nats.url, stream.streamName);
    expect(info.config.discard).toBe(DiscardPolicy.Old);
    expect(info.config.max_bytes).toBe(-1);
  });

  it('stores an event published twice once: its id is the Nats-Msg-Id', async () => {
    const stream = uniqueStream();
    const a = await startBus(nats.url, 'node-a', stream);
    const b = await startBus(nats.url, 'node-b', stream);
    const watch = await watchPublishes(nats.url, stream.subjectPrefix);
    const twice = makeEvent('node-a', 0);
    const other = makeEvent('node-a', 1);
    a.bus.publish(twice);
    a.bus.publish(twice); // in the same window
    a.bus.publish(other);
    await until(() => a.bus.pendingPublishes() === 0);
    a.bus.publish(twice); // in a later one
    await until(() => a.bus.pendingPublishes() === 0); // all acknowledged

    await until(() => b.got.length >= 2, 10_000, () => describeStream(nats.url, stream.streamName, { a, b }));
    await sleep(200);
    expect(await storedIds(nats.url, stream.streamName)).toEqual([twice.id, other.id]);
    expect(b.got).toEqual([twice, other]);
    expect(a.got).toEqual([twice, twice, other, twice]); // local delivery is per publish
    expect(watch.attempts.map((x) => x.id)).toEqual([twice.id, twice.id, other.id, twice.id]);
    expect(new Set(watch.attempts.map((x) => x.origin)).size).toBe(1); // one origin header, the bus's
    expect(a.publishFailures).toEqual([]);
  });

  it('gives an event JetStream keeps refusing up as rejected after five attempts, the others stored in order', async () => {
    const stream = uniqueStream();
    const a = await startBus(nats.url, 'node-a', stream);
    const b = await startBus(nats.url, 'node-b', stream);
    const first = makeEvent('node-a', 0);
    a.bus.publish(first);
    await until(() => b.got.length === 1);

    // A limit the bus does not own (so it does not put it back): this event is too big for it.
    await updateStream(nats.url, stream.streamName, { max_msg_size: 2_000 });
    const watch = await watchPublishes(nats.url, stream.subjectPrefix);
    const small = [makeEvent('node-a', 1), makeEvent('node-a', 3)];
    const big = { ...makeEvent('node-a', 2), data: { n: 2, blob: 'x'.repeat(4_000) } };
    a.bus.publish(small[0]!);
    a.bus.publish(big);
    a.bus.publish(small[1]!);

    await until(() => a.publishFailures.length > 0, 10_000);
    await until(() => a.bus.pendingPublishes() === 0);
    await until(() => b.got.length >= 3, 10_000, () => describeStream(nats.url, stream.streamName, { a, b }));
    expect(a.publishFailures.map((f) => [f.reason, f.eventId])).toEqual([['rejected', big.id]]);
    expect(a.publishFailures[0]?.cause).toBeInstanceOf(JetStreamApiError); // the stream's own refusal
    expect(watch.count(big.id)).toBe(5); // MAX_PUBLISH_ATTEMPTS, all made while connected
    expect(small.map((e) => watch.count(e.id))).toEqual([1, 1]); // stored at once, never sent again
    expect(b.got).toEqual([first, ...small]);
    expect(await storedIds(nats.url, stream.streamName)).toEqual([first, ...small].map((e) => e.id));
  });

  /** Two buses on a stream of their own; one event goes through, then the stream stops capturing their subjects. */
  async function streamMovedAwayAfterOneEvent() {
    const stream = uniqueStream();
    const { logger, publishErrors } = capturingLogger();
    const a = await startBus(nats.url, 'node-a', stream, { log: logger });
    const b = await startBus(nats.url, 'node-b', stream);
    const first = makeEvent('node-a', 0);
    a.bus.publish(first);
    await until(() => b.got.length === 1);
    await updateStream(nats.url, stream.streamName, { subjects: [`${stream.subjectPrefix}_elsewhere.>`] });
    return { stream, a, b, first, publishErrors };
  }

  it('retries a publish nothing answered ("no responders") after putting the stream\'s subjects back', async () => {
    // The stream no longer captures the bus's subjects, and nothing else listens on them.
    const { stream, a, b, first, publishErrors } = await streamMovedAwayAfterOneEvent();
    const later = range(3).map((n) => makeEvent('node-a', n + 1));
    for (const e of later) a.bus.publish(e);

    await until(() => b.got.length >= 4, 10_000, () => describeStream(nats.url, stream.streamName, { a, b }));
    expect(b.got).toEqual([first, ...later]);
    expect(publishErrors()).toEqual([expect.stringContaining('no responders')]);
    expect(a.publishFailures).toEqual([]);
    expect((await streamInfo(nats.url, stream.streamName)).config.subjects).toEqual([`${stream.subjectPrefix}.>`]);
  });

  it('gives up waiting for an ack that never comes after one timeout, and publishes again', async () => {
    // Someone listens on the subjects but answers nothing, and no stream captures them: no ack, no "no responders".
    const { stream, a, b, first, publishErrors } = await streamMovedAwayAfterOneEvent();
    const watch = await watchPublishes(nats.url, stream.subjectPrefix);
    const unanswered = range(3).map((n) => makeEvent('node-a', n + 1));
    const t0 = Date.now();
    for (const e of unanswered) a.bus.publish(e);
    await until(() => watch.attempts.length === 3);
    expect(a.bus.pendingPublishes()).toBe(3); // in flight, waiting

    await until(() => b.got.length >= 4, 10_000, () => describeStream(nats.url, stream.streamName, { a, b }));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_900); // the window's timeout (PUBLISH_TIMEOUT_MS), once
    expect(publishErrors()).toEqual(['timeout']);
    expect(unanswered.map((e) => watch.count(e.id))).toEqual([2, 2, 2]);
    expect(b.got).toEqual([first, ...unanswered]);
    expect(await storedIds(nats.url, stream.streamName)).toEqual([first, ...unanswered].map((e) => e.id));
    await until(() => a.bus.pendingPublishes() === 0);
    expect(a.publishFailures).toEqual([]);
  });

  it('close() during a window still waiting for its acks reports that window\'s events as not published', async () => {
    const stream = uniqueStream();
    const a = await startBus(nats.url, 'node-a', stream);
    await updateStream(nats.url, stream.streamName, { subjects: [`${stream.subjectPrefix}_elsewhere.>`] });
    const watch = await watchPublishes(nats.url, stream.subjectPrefix); // takes the publishes, never acks
    const unanswered = range(3).map((n) => makeEvent('node-a', n));
    for (const e of unanswered) a.bus.publish(e);
    await until(() => watch.attempts.length === 3);

    await a.bus.close(); // its flush gives up: the window ends (timed out or cut by the close), nothing is lost silently
    expect(a.publishFailures.map((f) => [f.reason, f.eventId])).toEqual(unanswered.map((e) => ['closed', e.id]));
    expect(a.bus.pendingPublishes()).toBe(0);
  });

  it('close() flushes what is buffered, then refuses new events without throwing', async () => {
    const stream = uniqueStream();
    const a = await startBus(nats.url, 'node-a', stream);
    const events = range(300).map((n) => makeEvent('node-a', n));
    for (const e of events) a.bus.publish(e);
    await a.bus.close();
    expect(await storedIds(nats.url, stream.streamName)).toEqual(events.map((e) => e.id));
    expect(a.bus.status()).toBe('closed');
    expect(a.bus.healthy()).toBe(false);
    expect(() => a.bus.publish(makeEvent('node-a', 999))).not.toThrow();
    expect(a.publishFailures.map((f) => f.reason)).toEqual(['closed']);
  });
});

describe('JetStream event bus through a NATS outage', () => {
  let nats: NatsServerProcess | undefined;
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.close()));
    await nats?.dispose();
    nats = undefined;
  });

  it('keeps publishing locally while NATS is down and catches the other nodes up when it returns', async () => {
    const server = await startNatsServer();
    nats = server;
    const stream = uniqueStream();
    const a = await startBus(server.url, 'node-a', stream);
    const b = await startBus(server.url, 'node-b', stream);
    const before = makeEvent('node-a', -1);
    a.bus.publish(before);
    await until(() => b.got.length === 1);

    await server.stop('SIGKILL');
    await until(() => !a.bus.healthy() && !b.bus.healthy(), 5_000);
    expect(a.bus.status()).toBe('reconnecting');

    // 1,000 publishes return within 50 ms. Best of three rounds: a test machine that deschedules
    // this process for a moment should not fail it, a publish that waits for NATS fails them all.
    const outage = range(3000).map((n) => makeEvent('node-a', n));
    const roundsMs = [0, 1, 2].map((round) => {
      const t0 = performance.now();
      for (const e of outage.slice(round * 1000, (round + 1) * 1000)) a.bus.publish(e);
      return performance.now() - t0;
    });
    expect(Math.min(...roundsMs)).toBeLessThan(50);
    await Promise.resolve();
    expect(a.got).toEqual([before, ...outage]); // this node still knows at once
    expect(a.bus.pendingPublishes()).toBe(3000);
    await sleep(200);
    expect(b.got).toEqual([before]);

    await server.restart();
    await until(() => a.bus.healthy() && b.bus.healthy(), 15_000);
    await until(() => b.got.length >= 3001, 15_000, () => describeStream(server.url, stream.streamName, { a, b }));
    expect(b.got).toEqual([before, ...outage]);
    await until(() => a.bus.pendingPublishes() === 0); // the last acks may trail B's delivery

    const fromB = makeEvent('node-b', 1, 'position.admitted');
    const fromA = makeEvent('node-a', 2, 'session.expired');
    b.bus.publish(fromB);
    a.bus.publish(fromA);
    await until(() => a.got.length >= 3003 && b.got.length >= 3003);
    await sleep(200);
    expect(a.got.slice(3001)).toEqual(expect.arrayContaining([fromA, fromB]));
    expect(a.got).toHaveLength(3003);
    expect(b.got.slice(3001)).toEqual(expect.arrayContaining([fromA, fromB]));
    expect(b.got).toHaveLength(3003);
    expect([...a.publishFailures, ...b.publishFailures]).toEqual([]);
  });

  it('starts without NATS, buffers a bounded number of events and publishes them once NATS is up', async () => {
    const port = await freePort();
    const stream = uniqueStream();
    const t0 = Date.now();
    const a = await startBus(`nats://127.0.0.1:${port}`, 'node-a', stream, { startupWaitMs: 300, maxPendingPublishes: 10 });
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(a.bus.healthy()).toBe(false);
    expect(a.bus.status()).toBe('reconnecting');

    const events = range(15).map((n) => makeEvent('node-a', n));
    for (const e of events) a.bus.publish(e);
    await Promise.resolve();
    expect(a.got).toEqual(events);
    expect(a.bus.pendingPublishes()).toBe(10);
    expect(a.publishFailures.map((f) => [f.reason, f.eventId])).toEqual(
      events.slice(0, 5).map((e) => ['buffer_overflow', e.id]),
    );

    nats = await startNatsServer({ port });
    await until(() => a.bus.healthy() && a.bus.pendingPublishes() === 0, 15_000);
    expect(await storedIds(nats.url, stream.streamName)).toEqual(events.slice(5).map((e) => e.id));
    expect(a.got).toHaveLength(15); // its own events come back from the stream only once
  });
});
