import { solveChallenge } from './challenge.js';
import type { PositionStatus, WaitingStatus } from './protocol.js';
import type { RestClient, RestResult } from './rest.js';
import type { Session, SessionEnd, SessionHandler } from './session.js';

/**
 * How long to wait before the next heartbeat. Faster near the front (where admission is
 * imminent), slower far back, and never slower than the server's `heartbeat_interval_seconds`
 * so the place cannot lapse. Jitter only shortens the wait (×0.75–1), which spreads clients
 * apart without ever crossing the server's bound.
 */
export function pollDelayMs(
  view: { position: number; estimated_wait_seconds: number; heartbeat_interval_seconds: number; next_heartbeat_seconds?: number },
  minIntervalMs: number,
  random: () => number,
): number {
  const ceiling = Math.max(100, (view.next_heartbeat_seconds ?? view.heartbeat_interval_seconds) * 1000);
  const floor = Math.min(minIntervalMs, ceiling);
  // A tenth of the remaining wait: an ETA of 5 min polls every 30 s, one of 20 s every 2 s.
  const target = view.position <= 3 ? floor : view.estimated_wait_seconds * 100;
  const base = Math.min(ceiling, Math.max(floor, target));
  return Math.round(base * (0.75 + 0.25 * random()));
}

/**
 * The REST fallback: `enqueue` (with the ticket, so the same place comes back), then
 * `heartbeat` at an adaptive interval. Heartbeat and not status, because only heartbeat
 * renews the place's deadline; both return the position and a fresh ticket.
 */
export function startPollingSession(
  opts: { rest: RestClient; ticket: string | undefined; priorityGrant?: string; minIntervalMs: number; random: () => number },
  handler: SessionHandler,
): Session {
  let ticket = opts.ticket;
  let ended = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let joined = false;
  let inFlight = false;

  const end = (e: SessionEnd) => {
    if (ended) return;
    ended = true;
    if (timer !== undefined) clearTimeout(timer);
    handler.end(e);
  };

  /** Maps one REST answer: true when still waiting. */
  function take(result: RestResult<PositionStatus>): result is { ok: true; status: number; body: WaitingStatus } {
    if (!result.ok) {
      const { status, error } = result;
      if (status === 401 || status === 403) end({ kind: 'unauthorized', error });
      else if (status === 410) end({ kind: 'expired', reason: 'removed' });
      else if (status === 429 || status >= 500) {
        end({ kind: 'lost', opened: true, error, ...(result.retryAfterMs ? { retryAfterMs: result.retryAfterMs } : {}) });
      } else end({ kind: 'failed', error: { ...error, fatal: true } });
      return false;
    }
    const body = result.body;
    if (body.status === 'admitted') {
      end({
        kind: 'admitted',
        admission: {
          session_id: body.session_id,
          session_token: body.session_token,
          redirect_url: body.redirect_url,
          session_expires_at: body.session_expires_at,
        },
      });
      return false;
    }
    ticket = body.token;
    return true;
  }

  function schedule(view: WaitingStatus) {
    if (ended) return;
    timer = setTimeout(() => void beat(), pollDelayMs(view, opts.minIntervalMs, opts.random));
  }

  async function call(run: () => Promise<RestResult<PositionStatus>>): Promise<RestResult<PositionStatus> | undefined> {
    inFlight = true;
    try {
      return await run();
    } catch {
      end({ kind: 'lost', opened: true });
      return undefined;
    } finally {
      inFlight = false;
    }
  }

  async function begin() {
    let result = await call(() => opts.rest.enqueue(ticket, opts.priorityGrant));
    // A queue that asks new visitors for work: solve and enqueue again (a few times at most).
    for (let tries = 0; tries < 3 && result && !result.ok && result.challenge && !ended; tries++) {
      const solution = await solveChallenge(result.challenge, () => ended);
      if (!solution) return;
      result = await call(() => opts.rest.enqueue(ticket, opts.priorityGrant, solution));
    }
    if (!result || ended || !take(result)) return;
    joined = true;
    // 200: the ticket's place came back; 201: a new place.
    handler.joined({ ...result.body, resumed: result.status === 200 });
    schedule(result.body);
  }

  async function beat() {
    timer = undefined;
    if (ended || !ticket) return;
    const current = ticket;
    const result = await call(() => opts.rest.heartbeat(current));
    if (!result || ended || !take(result)) return;
    handler.token(result.body.token);
    const { position, queue_length, estimated_wait_seconds } = result.body;
    handler.position({ position, queue_length, estimated_wait_seconds });
    schedule(result.body);
  }

  void begin();

  return {
    transport: 'polling',
    close() {
      ended = true;
      if (timer !== undefined) clearTimeout(timer);
    },
    leave: () => false,
    poke() {
      if (ended || !joined || inFlight || timer === undefined) return;
      clearTimeout(timer);
      void beat();
    },
  };
}
