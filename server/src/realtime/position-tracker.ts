/**
 * Exact positions for the visitors whose sockets this node holds, kept from the queue's
 * change feed instead of asking the store per visitor.
 *
 * Every change to a queue's wait set carries the store's version (one increment per change).
 * Applying the changes in version order to a visitor's position as of some version gives its
 * exact position now: an admission step removes `admitted` visitors from the head (ahead of
 * everyone still waiting), a leave/expiry removes one at `score` (ahead of those with a higher
 * score), an arrival at `score` is ahead of those with a higher score. Missing versions (a node
 * died between its script and its publish, NATS was down) are detected as gaps; the owner then
 * takes a snapshot of exact ranks from the store (one call per queue) and carries on from it.
 * Pure: no I/O, no timers (the caller passes the time).
 */

export interface Progress {
  version: number;
  queueLength: number;
  /** Removed from the head by an admission step. */
  admitted?: number;
  /** Removed from anywhere (leave, expiry), by score. */
  removed?: number[];
  /** An arrival's score. */
  added?: number;
}

/**
 * A tracked visitor. The caller's own per-visitor record extends it, so one object (and one map
 * entry) per visitor serves both the tracker and its owner.
 */
export interface Member {
  score: number;
  position: number;
  /** The version `position` is exact at. */
  version: number;
}

export interface Snapshot {
  version: number;
  queueLength: number;
  ranks: Map<string, number | null>;
}

/**
 * How much applied history is kept to bring a visitor who joined at an older version up to date
 * (a join's reply races the events of other joins by milliseconds). Older than that: a snapshot.
 */
const HISTORY_LIMIT = 5_000;

export class PositionTracker<M extends Member = Member> {
  private version: number | null = null;
  private readonly pending = new Map<number, Progress>();
  private readonly history: Progress[] = [];
  private readonly members = new Map<string, M>();
  private gapSince: number | null = null;
  /** The newest version known to exist (from the store's periodic counts), delivered or not. */
  private latestKnown = 0;
  private needsSnapshot = false;
  queueLength = 0;

  get appliedVersion(): number | null {
    return this.version;
  }

  get size(): number {
    return this.members.size;
  }

  /** A visitor at `member.position` as of `member.version` (from a join, resume or status read). */
  add(id: string, member: M): void {
    const { version } = member;
    this.members.set(id, member);
    if (this.version === null) {
      this.version = version;
      return;
    }
    if (version < this.version) {
      const oldest = this.history[0];
      if (!oldest || oldest.version > version + 1) {
        // Too old to replay: the next snapshot fixes it.
        this.needsSnapshot = true;
        return;
      }
      for (const p of this.history) if (p.version > version) applyTo(member, p);
      member.version = this.version;
    }
  }

  remove(id: string): void {
    this.members.delete(id);
  }

  has(id: string): boolean {
    return this.members.has(id);
  }

  get(id: string): M | undefined {
    return this.members.get(id);
  }

  all(): IterableIterator<M> {
    return this.members.values();
  }

  /** Buffers a change; `advance` applies what is contiguous. */
  receive(p: Progress): void {
    if (this.version !== null && p.version <= this.version) return;
    this.pending.set(p.version, p);
  }

  /** The store says the queue is at `version`: a change not delivered by then is a gap. */
  observeVersion(version: number): void {
    this.latestKnown = Math.max(this.latestKnown, version);
  }

  /**
   * Applies every contiguous buffered change. Returns how many members' positions changed.
   */
  advance(now: number): number {
    let changed = 0;
    if (this.version === null) {
      this.pending.clear();
      return changed;
    }
    const batch: Progress[] = [];
    for (let next = this.pending.get(this.version + 1); next; next = this.pending.get(this.version + 1)) {
      this.pending.delete(next.version);
      batch.push(next);
      this.version = next.version;
    }
    const behind = this.pending.size > 0 || this.latestKnown > this.version;
    this.gapSince = behind ? (this.gapSince ?? now) : null;
    if (batch.length === 0) return changed;
    this.queueLength = (batch[batch.length - 1] as Progress).queueLength;
    this.remember(batch);

    // Most members are exact at the version before this batch: one aggregate for all of them.
    const before = (batch[0] as Progress).version - 1;
    let admitted = 0;
    const removed: number[] = [];
    const added: number[] = [];
    for (const p of batch) {
      admitted += p.admitted ?? 0;
      if (p.removed) removed.push(...p.removed);
      if (p.added !== undefined) added.push(p.added);
    }
    removed.sort((a, b) => a - b);
    added.sort((a, b) => a - b);

    for (const m of this.members.values()) {
      if (m.version >= this.version) continue;
      const old = m.position;
      if (m.version === before) {
        m.position += countBelow(added, m.score) - admitted - countBelow(removed, m.score);
      } else {
        // Joined at a version inside this batch (or earlier and caught up): only what came after.
        for (const p of batch) if (p.version > m.version) applyTo(m, p);
      }
      m.version = this.version;
      if (m.position !== old) changed++;
    }
    return changed;
  }

  /** True when a gap has been open for `graceMs`, or a member could not be brought up to date. */
  wantsSnapshot(now: number, graceMs: number): boolean {
    return this.needsSnapshot || (this.gapSince !== null && now - this.gapSince >= graceMs);
  }

  memberIds(): string[] {
    return [...this.members.keys()];
  }

  /**
   * Exact ranks read from the store at one version. Members it reports as not waiting are
   * returned for the caller to look up (admitted or gone) and are removed here.
   */
  applySnapshot(snapshot: Snapshot, now: number): { changed: number; missing: M[] } {
    let changed = 0;
    const missing: M[] = [];
    for (const [id, rank] of snapshot.ranks) {
      const m = this.members.get(id);
      if (!m) continue;
      if (rank === null) {
        missing.push(m);
        this.members.delete(id);
        continue;
      }
      if (m.position !== rank) changed++;
      m.position = rank;
      m.version = snapshot.version;
    }
    this.version = snapshot.version;
    this.queueLength = snapshot.queueLength;
    for (const v of [...this.pending.keys()]) if (v <= snapshot.version) this.pending.delete(v);
    this.history.length = 0;
    this.gapSince = null;
    this.needsSnapshot = false;
    // Changes already buffered beyond the snapshot apply on top of it.
    changed += this.advance(now);
    return { changed, missing };
  }

  private remember(batch: Progress[]): void {
    this.history.push(...batch);
    if (this.history.length > HISTORY_LIMIT) this.history.splice(0, this.history.length - HISTORY_LIMIT);
  }
}

function applyTo(m: Member, p: Progress): void {
  m.position -= p.admitted ?? 0;
  if (p.removed) for (const s of p.removed) if (s < m.score) m.position--;
  if (p.added !== undefined && p.added < m.score) m.position++;
}

/** How many sorted values are strictly below x. */
function countBelow(sorted: number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
