/** The seed's REST calls (docs/API.md) for k6: enqueue / status / heartbeat and the admin PATCH. */
import http, { type RefinedResponse, type ResponseType } from 'k6/http';
import type { PositionStatus } from '../../../client-sdk/src/protocol.ts';
import { apiUrl, type Target } from './env.ts';

const JSON_HEADERS = { 'Content-Type': 'application/json' };

function bearer(ticket: string) {
  return { Authorization: `Bearer ${ticket}` };
}

/** The JSON body of a response as a PositionStatus, or undefined when it is not one. */
export function statusOf(res: RefinedResponse<ResponseType | undefined>): PositionStatus | undefined {
  if (typeof res.body !== 'string') return undefined;
  try {
    const value = JSON.parse(res.body) as Partial<PositionStatus>;
    return typeof value === 'object' && value !== null && typeof value.status === 'string' ? (value as PositionStatus) : undefined;
  } catch {
    return undefined;
  }
}

/** The error code of an error response (`{"error":{"code"}}`), or undefined. */
export function errorCodeOf(res: RefinedResponse<ResponseType | undefined>): string | undefined {
  if (typeof res.body !== 'string') return undefined;
  try {
    const value = JSON.parse(res.body) as { error?: { code?: unknown } };
    return typeof value.error?.code === 'string' ? value.error.code : undefined;
  } catch {
    return undefined;
  }
}

export function enqueue(t: Target) {
  return http.post(apiUrl(t, `/queues/${t.queueId}/enqueue`), '{}', { headers: JSON_HEADERS, tags: { name: 'enqueue' } });
}

export function status(t: Target, ticket: string) {
  return http.get(apiUrl(t, `/queues/${t.queueId}/status`), { headers: bearer(ticket), tags: { name: 'status' } });
}

export function heartbeat(t: Target, ticket: string) {
  return http.post(apiUrl(t, `/queues/${t.queueId}/heartbeat`), JSON.stringify({ timestamp: Date.now() }), {
    headers: { ...JSON_HEADERS, ...bearer(ticket) },
    tags: { name: 'heartbeat' },
  });
}

export function leave(t: Target, ticket: string) {
  return http.del(apiUrl(t, `/queues/${t.queueId}/position`), null, { headers: bearer(ticket), tags: { name: 'leave' } });
}

/** Queue settings an operator may PATCH (docs/API.md, admin). */
export interface QueuePatch {
  status?: 'active' | 'paused' | 'maintenance';
  admission_rate_per_minute?: number;
  max_active_users?: number;
  max_queue_size?: number;
  session_duration_seconds?: number;
  heartbeat_timeout_seconds?: number;
}

/** PATCH /api/v1/admin/queues/{id}; throws (fails the run at setup) unless it answered 200. */
export function patchQueue(t: Target, patch: QueuePatch): void {
  if (!t.adminKey) throw new Error('ADMIN_KEY is required to change the queue');
  const res = http.patch(apiUrl(t, `/admin/queues/${t.queueId}`), JSON.stringify(patch), {
    headers: { ...JSON_HEADERS, 'X-Admin-Key': t.adminKey },
    tags: { name: 'admin_patch' },
  });
  if (res.status !== 200) throw new Error(`PATCH queue ${t.queueId}: ${res.status} ${String(res.body).slice(0, 300)}`);
}

/** POST /api/v1/admin/queues (201), or PATCH it when it exists already (409). */
export function ensureQueue(t: Target, settings: QueuePatch): void {
  if (!t.adminKey) throw new Error('ADMIN_KEY is required to create the queue');
  const res = http.post(apiUrl(t, '/admin/queues'), JSON.stringify({ id: t.queueId, ...settings }), {
    headers: { ...JSON_HEADERS, 'X-Admin-Key': t.adminKey },
    tags: { name: 'admin_create' },
  });
  if (res.status === 409) return patchQueue(t, settings);
  if (res.status !== 201) throw new Error(`create queue ${t.queueId}: ${res.status} ${String(res.body).slice(0, 300)}`);
}
