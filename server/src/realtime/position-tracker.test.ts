import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PositionTracker, type Member, type Progress } from './position-tracker.js';

/** A model queue: the store's wait set, with a version per change. */
class ModelQueue {
  version = 0;
  private seq = 0;
  readonly waiting = new Map<string, number>();
  readonly log: Progress[] = [];

  rank(id: string): number | null {
    const score = this.waiting.get(id);
    if (score === undefined) return null;
    let r = 1;
    for (const s of this.waiting.values()) if (s < score) r++;
    return r;
  }
  enqueue(lane: number): string {
    const id = `p${++this.seq}`;
    const score = (3 - lane) * 1e12 + this.seq;
    this.waiting.set(id, score);
    this.record({ added: score });
    return id;
  }
  admit(n: number): string[] {
    const head = [...this.waiting].sort((a, b) => a[1] - b[1]).slice(0, n);
    if (head.length === 0) return [];
    for (const [id] of head) this.waiting.delete(id);
    this.record({ admitted: head.length });
    return head.map(([id]) => id);
  }
  remove(ids: string[]): void {
    const scores = ids.flatMap((id) => {
      const s = this.waiting.get(id);
      this.waiting.delete(id);
      return s === undefined ? [] : [s];
    });
    if (scores.length > 0) this.record({ removed: scores });
  }
  private record(change: Omit<Progress, 'version' | 'queueLength'>) {
    this.log.push({ ...change, version: ++this.version, queueLength: this.waiting.size });
  }
}

const op = fc.oneof(
  fc.record({ kind: fc.constant('enqueue' as const), lane: fc.integer({ min: 0, max: 3 }), track: fc.boolean() }),
  fc.record({ kind: fc.constant('admit' as const), n: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('remove' as const), pick: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }) }),
  fc.record({ kind: fc.constant('deliver' as const), shuffle: fc.boolean(), drop: fc.boolean() }),
);

describe('PositionTracker', () => {
  it('keeps every tracked position exact, whatever the delivery order, duplicates and gaps', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 120 }), fc.integer(), (ops, seed) => {
        const model = new ModelQueue();
        const tracker = new PositionTracker<Member & { id: string }>();
        let delivered = 0;
        let rnd = seed;
        const next = () => (rnd = (rnd * 1103515245 + 12345) & 0x7fffffff);
        let now = 0;

        const check = () => {
          now += 1000;
          tracker.observeVersion(model.version); // the broadcaster's periodic count read
          tracker.advance(now);
          now += 1000;
          tracker.advance(now);
          if (tracker.wantsSnapshot(now, 1)) {
            const ranks = new Map(tracker.memberIds().map((id) => [id, model.rank(id)]));
            const { missing } = tracker.applySnapshot({ version: model.version, queueLength: model.waiting.size, ranks }, now);
            for (const m of missing) expect(model.rank(m.id)).toBeNull();
          }
          for (const id of tracker.memberIds()) {
            const expected = model.rank(id);
            if (expected === null) tracker.remove(id); // the broadcaster does this on the admitted/expired event
            else expect(tracker.get(id)?.position, id).toBe(expected);
          }
        };

        for (const o of ops) {
          if (o.kind === 'enqueue') {
            const id = model.enqueue(o.lane);
            if (o.track) tracker.add(id, { id, score: model.waiting.get(id)!, position: model.rank(id)!, version: model.version });
          } else if (o.kind === 'admit') {
            model.admit(o.n);
          } else if (o.kind === 'remove') {
            const ids = [...model.waiting.keys()];
            if (ids.length > 0) model.remove(o.pick.map((i) => ids[i % ids.length]!));
          } else {
            const fresh = model.log.slice(delivered);
            delivered = model.log.length;
            if (o.shuffle) fresh.sort(() => (next() % 3) - 1);
            for (const p of fresh) {
              if (o.drop && next() % 4 === 0) continue; // lost: a gap, then a snapshot
              tracker.receive(p);
              if (next() % 5 === 0) tracker.receive(p); // duplicate delivery
            }
            check();
          }
        }
        for (const p of model.log.slice(delivered)) tracker.receive(p);
        check();
        check();
      }),
      { numRuns: 300 },
    );
  });

  it('catches a late joiner up from history and aggregates a batch in one pass', () => {
    const t = new PositionTracker();
    t.add('a', { score: 3e12 + 1, position: 1, version: 1 }); // a joined at version 1 as the first
    t.receive({ version: 2, queueLength: 2, added: 3e12 + 2 });
    t.receive({ version: 3, queueLength: 3, added: 2e12 + 3 }); // a VIP arrives ahead of a
    expect(t.advance(0)).toBe(1);
    expect(t.get('a')?.position).toBe(2);
    t.add('b', { score: 3e12 + 2, position: 2, version: 2 }); // b's join answer was read at version 2: replay version 3
    expect(t.get('b')?.position).toBe(3);
    t.receive({ version: 4, queueLength: 2, admitted: 1 });
    t.advance(0);
    expect([t.get('a')?.position, t.get('b')?.position]).toEqual([1, 2]);
  });

  it('asks for a snapshot when a gap stays open', () => {
    const t = new PositionTracker();
    t.add('a', { score: 10, position: 5, version: 1 });
    t.receive({ version: 3, queueLength: 3, admitted: 1 });
    t.advance(1_000);
    expect(t.wantsSnapshot(1_500, 1_000)).toBe(false);
    expect(t.wantsSnapshot(2_000, 1_000)).toBe(true);
    const { changed } = t.applySnapshot({ version: 3, queueLength: 3, ranks: new Map([['a', 3]]) }, 2_000);
    expect(changed).toBe(1);
    expect(t.wantsSnapshot(5_000, 1_000)).toBe(false);
  });
});
