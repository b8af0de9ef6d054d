/** The few REST calls the benchmarks make outside the measured loops (DESIGN §4). */
import type { Pool } from 'undici';
import type { QueueSettings } from '../../../server/src/domain/queue.js';

export const JSON_HEADERS = { 'content-type': 'application/json' } as const;

/** POST /api/v1/admin/queues; throws unless the queue was created (201). */
export async function createQueue(
  pool: Pool,
  adminKey: string,
  id: string,
  settings: Partial<QueueSettings>,
): Promise<void> {
  const res = await pool.request({
    method: 'POST',
    path: '/api/v1/admin/queues',
    headers: { ...JSON_HEADERS, 'x-admin-key': adminKey },
    body: JSON.stringify({ id, ...settings }),
  });
  const text = await res.body.text();
  if (res.statusCode !== 201) throw new Error(`creating queue ${id} failed: ${res.statusCode} ${text.slice(0, 300)}`);
}

export function enqueuePath(queueId: string): string {
  return `/api/v1/queues/${encodeURIComponent(queueId)}/enqueue`;
}

export function statusPath(queueId: string): string {
  return `/api/v1/queues/${encodeURIComponent(queueId)}/status`;
}

/** The ticket of an enqueue response body. */
export function ticketOf(body: string): string {
  const parsed: unknown = JSON.parse(body);
  const token = typeof parsed === 'object' && parsed !== null ? (parsed as { token?: unknown }).token : undefined;
  if (typeof token !== 'string') throw new Error(`enqueue response without a token: ${body.slice(0, 200)}`);
  return token;
}

/** PATCH /api/v1/admin/queues/{id}; throws unless it answered 200. */
export async function patchQueue(
  pool: Pool,
  adminKey: string,
  id: string,
  patch: Partial<QueueSettings>,
): Promise<void> {
  const res = await pool.request({
    method: 'PATCH',
    path: `/api/v1/admin/queues/${encodeURIComponent(id)}`,
    headers: { ...JSON_HEADERS, 'x-admin-key': adminKey },
    body: JSON.stringify(patch),
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`patching queue ${id} failed: ${res.statusCode} ${text.slice(0, 300)}`);
}
