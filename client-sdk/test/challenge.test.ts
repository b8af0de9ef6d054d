import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, uniqueQueueId, type TestNode } from '../../server/test/support/nodes.js';
import { solveChallenge } from '../src/challenge.js';
import { createWaitingRoom, type Admission, type WaitingRoom } from '../src/index.js';
import { admit, mapStorage, pausedQueue, record } from './helpers.js';

async function solvedCount(node: TestNode): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('waiting_room_join_challenges_total{outcome="solved"}'));
  return Number(line?.split(' ').at(-1) ?? 0);
}

/** A queue that asks new visitors for proof of work: the SDK solves it by itself, on either transport. */
describe('waiting room SDK with a join challenge', () => {
  let node: TestNode;
  const rooms: WaitingRoom[] = [];
  beforeAll(async () => {
    node = await startTestNode({ env: { JOIN_CHALLENGE: 'pow', JOIN_CHALLENGE_DIFFICULTY: '10' } });
  });
  afterEach(() => {
    for (const room of rooms.splice(0)) room.stop();
  });
  afterAll(() => node.close());

  it.each(['websocket', 'polling'] as const)('transport %s: solves the challenge, joins and is admitted', async (transport) => {
    const q = uniqueQueueId('sdkpow');
    await pausedQueue(node, q);
    const solvedBefore = await solvedCount(node);
    const admissions: Admission[] = [];
    const room = createWaitingRoom({
      url: node.url,
      queueId: q,
      storage: mapStorage(),
      transport,
      WebSocket,
      pollMinIntervalMs: 300,
      backoff: { initialMs: 50, maxMs: 500 },
      onAdmitted: (a) => admissions.push(a),
    });
    rooms.push(room);
    const events = record(room);
    room.start();
    const joined = await events.next('joined');
    expect(joined).toMatchObject({ position: 1 });
    expect(await solvedCount(node)).toBe(solvedBefore + 1);
    await admit(node, q, 600);
    await events.next('admitted');
    expect(admissions).toHaveLength(1);
    expect(events.of('error')).toEqual([]);
  });

  it('finds a nonce with the required zero bits, and stops when cancelled', async () => {
    const challenge = { type: 'proof_of_work', algorithm: 'sha256', difficulty: 8, token: 'abc.def', expires_at: '' } as const;
    const solution = await solveChallenge(challenge);
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`abc.def${solution?.nonce}`)));
    expect(digest[0]).toBe(0);
    expect(await solveChallenge({ ...challenge, difficulty: 32 }, () => true)).toBeUndefined();
  });
});
