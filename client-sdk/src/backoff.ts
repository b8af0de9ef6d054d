/**
 * Full-jitter exponential backoff (as Centrifugo's SDKs and the AWS architecture blog):
 * delay = random(0, min(maxMs, initialMs · 2^attempt)). Spreading reconnects uniformly over the
 * whole window is what keeps a restarted node from being hit by every client at once.
 */
export function fullJitterDelay(attempt: number, initialMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

export interface Backoff {
  /** The delay before the next attempt; each call counts one attempt. */
  next(): number;
  /** After a success: the next failure starts from `initialMs` again. */
  reset(): void;
  readonly attempts: number;
}

export function createBackoff(opts: { initialMs?: number; maxMs?: number; random?: () => number } = {}): Backoff {
  const initialMs = opts.initialMs ?? 500;
  const maxMs = opts.maxMs ?? 20_000;
  const random = opts.random ?? Math.random;
  let attempts = 0;
  return {
    next: () => fullJitterDelay(attempts++, initialMs, maxMs, random),
    reset() {
      attempts = 0;
    },
    get attempts() {
      return attempts;
    },
  };
}
