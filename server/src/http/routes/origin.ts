import { AppError, unauthorized } from '../../domain/errors.js';
import { isValidQueueId } from '../../domain/queue.js';
import type { SessionService } from '../../services/sessions.js';
import type { IpRateLimiter } from '../rate-limit.js';
import { errorBody, type Reply, type RequestContext, type Route } from '../router.js';
import { pathParam } from './visitor.js';

/** The query parameter the browser SDK's query handoff adds to the origin URL (client-sdk handoff.ts). */
export const TOKEN_QUERY_PARAM = 'wr_token';

export interface OriginRouteDeps {
  sessions: SessionService;
  /** The waiting room's public base URL (PUBLIC_URL); '' = waiting page URLs are paths on the origin's host. */
  publicUrl: string;
  /** The cookie the SDK's cookie handoff sets (SESSION_COOKIE_NAME, the SDK's `cookieName`). */
  cookieName: string;
  ipKey: (ctx: RequestContext) => string;
  /** Counts refused tokens per IP (the status/heartbeat limit). */
  limiter: IpRateLimiter;
}

type TokenSource = 'bearer' | 'cookie' | 'query';

/**
 * `GET /api/v1/queues/{queue_id}/verify`: the origin's gate, for nginx `auth_request` and Traefik
 * `forwardAuth`. A live session token of the queue → 200 with headers naming the session; anything
 * else → 401 carrying the waiting page's URL (or a 302 to it with `?redirect=true`, for proxies
 * that hand the auth answer to the browser as is).
 */
export function originRoutes(d: OriginRouteDeps): Route[] {
  const base = d.publicUrl.replace(/\/+$/, '');
  return [
    {
      method: 'GET',
      pattern: '/api/v1/queues/:queue_id/verify',
      async handler(ctx) {
        const queueId = pathParam(ctx, 'queue_id');
        if (!isValidQueueId(queueId)) throw new AppError('INVALID_REQUEST', 'Invalid queue id: must match ^[a-z0-9][a-z0-9_-]{0,63}$');
        const waitingUrl = `${base}/queues/${queueId}`;
        const found = presentedToken(ctx, d.cookieName);
        if (!found) return refuse(ctx, waitingUrl, unauthorized('No session token (cookie, Bearer or wr_token)'));
        let session;
        try {
          session = await d.sessions.verify(queueId, found.token);
        } catch (err) {
          if (!(err instanceof AppError) || !['UNAUTHORIZED', 'SESSION_EXPIRED'].includes(err.code)) throw err;
          // Only refused tokens count against the per-IP limit: a valid visitor's page loads
          // through one proxy address must never be throttled, and this keeps a valid check
          // at one store round trip. RATE_LIMITED propagates as 429.
          await d.limiter.consume(d.ipKey(ctx));
          return refuse(ctx, waitingUrl, err.code === 'UNAUTHORIZED' ? err : unauthorized(err.message));
        }
        const expires = new Date(session.expiresAt);
        const headers: Record<string, string> = {
          'cache-control': 'no-store',
          'x-waiting-room-session': session.sessionId,
          'x-waiting-room-queue': session.queueId,
          'x-waiting-room-expires': expires.toISOString(),
        };
        // A token that arrived in the URL (the SDK's query handoff) becomes a cookie, so the
        // visitor's next requests carry it: the proxy copies this header into Set-Cookie.
        if (found.source === 'query') headers['x-waiting-room-cookie'] = sessionCookie(ctx, d.cookieName, found.token, session.expiresAt);
        return {
          status: 200,
          headers,
          json: { session_id: session.sessionId, queue_id: session.queueId, expires_at: expires.toISOString() },
        };
      },
    },
  ];
}

function refuse(ctx: RequestContext, waitingUrl: string, err: AppError): Reply {
  const redirect = ['true', '1'].includes(ctx.query.get('redirect') ?? '');
  const details = { waiting_room_url: waitingUrl };
  const body = errorBody(new AppError('UNAUTHORIZED', err.message, details), ctx.requestId);
  return {
    status: redirect ? 302 : 401,
    json: body,
    headers: {
      'cache-control': 'no-store',
      'x-waiting-room-url': waitingUrl,
      ...(redirect ? { location: waitingUrl } : { 'www-authenticate': 'Bearer realm="waiting-room"' }),
    },
  };
}

/**
 * The session token, from (in order) `Authorization: Bearer`, the handoff cookie, or the
 * `wr_token` parameter of the original URL the proxy forwards (nginx `X-Original-URI`, Traefik
 * `X-Forwarded-Uri`). Another Authorization scheme (the origin's own Basic auth) is ignored.
 */
export function presentedToken(ctx: RequestContext, cookieName: string): { token: string; source: TokenSource } | null {
  const bearer = /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(ctx.headers.authorization ?? '')?.[1];
  if (bearer) return { token: bearer, source: 'bearer' };
  const cookie = cookieValue(ctx.headers.cookie, cookieName);
  if (cookie) return { token: cookie, source: 'cookie' };
  const original = ctx.headers['x-original-uri'] ?? ctx.headers['x-forwarded-uri'];
  const query = original === undefined ? undefined : queryParam(original, TOKEN_QUERY_PARAM);
  return query ? { token: query, source: 'query' } : null;
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const raw = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(raw) || undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function queryParam(uri: string, name: string): string | undefined {
  const q = uri.indexOf('?');
  if (q < 0) return undefined;
  return new URLSearchParams(uri.slice(q + 1).split('#')[0]).get(name) ?? undefined;
}

/** Set-Cookie value for a token handed over in the URL; it lives as long as the session. */
function sessionCookie(ctx: RequestContext, name: string, token: string, expiresAt: number): string {
  const maxAge = Math.max(0, Math.floor((expiresAt - Date.now()) / 1000));
  const secure = (ctx.headers['x-forwarded-proto'] ?? '').toLowerCase() === 'https';
  return [`${name}=${token}`, 'Path=/', `Max-Age=${maxAge}`, 'HttpOnly', 'SameSite=Lax', ...(secure ? ['Secure'] : [])].join('; ');
}
