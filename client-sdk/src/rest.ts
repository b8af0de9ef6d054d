import type { ChallengeData, ChallengeSolution, ErrorBody, ErrorData, PositionStatus } from './protocol.js';
import type { FetchLike } from './types.js';

/** The seed's REST API for visitors (docs/API.md): the polling fallback and `leave`. */

export type RestResult<T> =
  | { ok: true; status: number; body: T }
  | { ok: false; status: number; error: ErrorData; retryAfterMs?: number; challenge?: ChallengeData };

export interface RestClient {
  /** A new place, or the place of `ticket` (200) when it still holds one. */
  enqueue(ticket: string | undefined, priorityGrant?: string, solution?: ChallengeSolution): Promise<RestResult<PositionStatus>>;
  /** Renews the place (status alone does not) and returns the status with a fresh ticket. */
  heartbeat(ticket: string): Promise<RestResult<PositionStatus>>;
  leave(ticket: string): Promise<RestResult<unknown>>;
}

/** Network failures reject; HTTP errors resolve with `ok: false`. */
export function createRestClient(baseUrl: string, queueId: string, fetchImpl: FetchLike): RestClient {
  const queueUrl = `${baseUrl}/api/v1/queues/${encodeURIComponent(queueId)}`;

  async function request<T>(method: string, path: string, ticket: string | undefined, body?: unknown): Promise<RestResult<T>> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (ticket) headers.authorization = `Bearer ${ticket}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetchImpl(`${queueUrl}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const json: unknown = await res.json().catch(() => undefined);
    if (res.ok) return { ok: true, status: res.status, body: json as T };
    const error = (json as Partial<ErrorBody> | undefined)?.error;
    const retryAfter = Number(res.headers.get('retry-after'));
    const challenge = (error?.details as { challenge?: ChallengeData } | undefined)?.challenge;
    return {
      ok: false,
      status: res.status,
      error: {
        code: error?.code ?? (res.status >= 500 ? 'INTERNAL_ERROR' : 'INVALID_REQUEST'),
        message: error?.message ?? `HTTP ${res.status}`,
      },
      ...(retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
      ...(challenge ? { challenge } : {}),
    };
  }

  return {
    enqueue: (ticket, priorityGrant, solution) =>
      request('POST', '/enqueue', ticket, {
        ...(priorityGrant && !ticket ? { priority_grant: priorityGrant } : {}),
        ...(solution ? { challenge_solution: solution } : {}),
      }),
    heartbeat: (ticket) => request('POST', '/heartbeat', ticket, { timestamp: Date.now() }),
    leave: (ticket) => request('DELETE', '/position', ticket),
  };
}
