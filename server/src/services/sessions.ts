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

/** Admitted visitors' sessions: looked up and renewed by their holder, ended by an operator. */
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

  const ended = () => new AppError('SESSION_EXPIRED', 'This session has ended (expired or terminated)');

  return {
    async get(sessionId: string, token: string): Promise<SessionView> {
      const claims = await authorize(sessionId, token);
      const state = await store.getSession(claims.queueId, claims.positionId);
      if (!state) throw ended();
      return view(claims.queueId, sessionId, state.expiresAt);
    },

    /** Activity renews the session; the response carries a token with the new expiry. */
    async touch(sessionId: string, token: string): Promise<SessionView> {
      const claims = await authorize(sessionId, token);
      const state = await store.touchSession(claims.queueId, claims.positionId);
      if (!state) throw ended();
      publish('session.renewed', claims.queueId, { session_id: sessionId, expires_at: state.expiresAt }, state.now);
      const renewed = await tokens.signSession({
        queueId: claims.queueId,
        positionId: claims.positionId,
        sessionId,
        expiresAt: state.expiresAt,
      });
      return view(claims.queueId, sessionId, state.expiresAt, renewed);
    },

    async terminate(sessionId: string): Promise<{ session_id: string; status: 'terminated' }> {
      const parsed = parseSessionId(sessionId);
      if (!parsed) throw new AppError('INVALID_REQUEST', 'Malformed session id');
      if (!(await store.endSession(parsed.queueId, parsed.positionId))) {
        throw notFound(`No active session ${sessionId}`);
      }
      metrics.sessionsEnded.inc({ queue_id: parsed.queueId, reason: 'terminated' });
      publish('session.terminated', parsed.queueId, { session_id: sessionId, position_id: parsed.positionId });
      return { session_id: sessionId, status: 'terminated' };
    },
  };
}

export type SessionService = ReturnType<typeof createSessionService>;
