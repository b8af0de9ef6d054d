import { AppError, notFound, unauthorized } from '../domain/errors.js';
import { parseSessionId } from '../domain/queue.js';
import type { Publish } from '../events/publisher.js';
import type { Metrics } from '../observability/metrics.js';
import type { QueueStore } from '../store/types.js';
import type { TokenService } from '../tokens/tokens.js';
import type { QueueDirectory } from './queues.js';

export interface SessionView {
  session_id: string;
  queue_id: string;
  status: 'active';
  expires_at: string;
  redirect_url: string;
  session_token?: string;
}

/** The answer to activity: `renewed: false` when the queue has session_renewal off. */
export interface SessionActivityView extends SessionView {
  renewed: boolean;
}

/** What an origin learns from a verified, live session (GET /queues/{id}/verify). */
export interface VerifiedSession {
  sessionId: string;
  queueId: string;
  /** ms since the epoch: the session's end in the store (later than the token's exp after a renewal). */
  expiresAt: number;
}

/**
 * Admitted visitors' sessions: looked up, renewed and released by their holder, verified for
 * the origin, revoked by an operator. Every check of a session token reads the store as well
 * as the signature, so a released or revoked session is refused at once on every node.
 */
export function createSessionService(deps: {
  store: QueueStore;
  queues: QueueDirectory;
  tokens: TokenService;
  publish: Publish;
  metrics: Metrics;
}) {
  const { store, queues, tokens, publish, metrics } = deps;

  async function authorize(sessionId: string, token: string) {
    const claims = await tokens.verifySession(token);
    if (claims.sessionId !== sessionId) throw unauthorized('The session token is for another session');
    return claims;
  }

  async function view(queueId: string, sessionId: string, expiresAt: number, token?: string): Promise<SessionView> {
    const queue = await queues.get(queueId);
    return {
      session_id: sessionId,
      queue_id: queueId,
      status: 'active',
      expires_at: new Date(expiresAt).toISOString(),
      redirect_url: queue?.target_url ?? '',
      ...(token ? { session_token: token } : {}),
    };
  }

  const ended = () => new AppError('SESSION_EXPIRED', 'This session has ended (expired, released or revoked)');

  /** Ends a live session now and says why (metrics label and event data). */
  async function end(queueId: string, positionId: string, sessionId: string, reason: 'released' | 'terminated') {
    if (!(await store.endSession(queueId, positionId))) return false;
    metrics.sessionsEnded.inc({ queue_id: queueId, reason });
    publish('session.terminated', queueId, { session_id: sessionId, position_id: positionId, reason });
    return true;
  }

  return {
    async get(sessionId: string, token: string): Promise<SessionView> {
      const claims = await authorize(sessionId, token);
      const state = await store.getSession(claims.queueId, claims.positionId);
      if (!state) throw ended();
      return view(claims.queueId, sessionId, state.expiresAt);
    },

    /**
     * Activity renews the session and the response carries a token with the new expiry — unless
     * the queue has session_renewal off: then `renewed: false`, the old expiry and no new token.
     */
    async touch(sessionId: string, token: string): Promise<SessionActivityView> {
      const claims = await authorize(sessionId, token);
      const state = await store.touchSession(claims.queueId, claims.positionId);
      if (!state) throw ended();
      if (!state.renewed) return { ...(await view(claims.queueId, sessionId, state.expiresAt)), renewed: false };
      publish('session.renewed', claims.queueId, { session_id: sessionId, expires_at: state.expiresAt }, state.now);
      const renewed = await tokens.signSession({
        queueId: claims.queueId,
        positionId: claims.positionId,
        sessionId,
        expiresAt: state.expiresAt,
      });
      return { ...(await view(claims.queueId, sessionId, state.expiresAt, renewed)), renewed: true };
    },

    /** Early release by the visitor or the origin (holder of the session token): the slot frees at once. */
    async release(sessionId: string, token: string): Promise<{ session_id: string; status: 'released' }> {
      const claims = await authorize(sessionId, token);
      if (!(await end(claims.queueId, claims.positionId, sessionId, 'released'))) throw ended();
      return { session_id: sessionId, status: 'released' };
    },

    /**
     * The origin's check: a session token of this queue whose session is still live in the
     * store. One signature check and one store round trip.
     */
    async verify(queueId: string, token: string): Promise<VerifiedSession> {
      const claims = await tokens.verifySession(token, queueId);
      const state = await store.getSession(claims.queueId, claims.positionId);
      if (!state) throw ended();
      return { sessionId: claims.sessionId, queueId: claims.queueId, expiresAt: state.expiresAt };
    },

    async terminate(sessionId: string): Promise<{ session_id: string; status: 'terminated' }> {
      const parsed = parseSessionId(sessionId);
      if (!parsed) throw new AppError('INVALID_REQUEST', 'Malformed session id');
      if (!(await end(parsed.queueId, parsed.positionId, sessionId, 'terminated'))) {
        throw notFound(`No active session ${sessionId}`);
      }
      return { session_id: sessionId, status: 'terminated' };
    },
  };
}

export type SessionService = ReturnType<typeof createSessionService>;
