import { call, enqueue, waitFor } from './nodes.js';

export interface AdmittedVisitor {
  ticket: string;
  sessionId: string;
  sessionToken: string;
  sessionExpiresAt: string;
}

/** Polls status with the ticket until the queue admits the visitor (a real admission by a node's loop). */
export async function untilAdmitted(node: { url: string }, queueId: string, ticket: string): Promise<AdmittedVisitor> {
  const body = await waitFor(async () => {
    const res = await call(`${node.url}/api/v1/queues/${queueId}/status`, { token: ticket });
    if (res.status !== 200) throw new Error(`status failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.admitted === true ? res.body : undefined;
  });
  return {
    ticket,
    sessionId: String(body.session_id),
    sessionToken: String(body.session_token),
    sessionExpiresAt: String(body.session_expires_at),
  };
}

/** Joins the queue and waits for the admission. */
export async function admitVisitor(node: { url: string }, queueId: string): Promise<AdmittedVisitor> {
  const joined = await enqueue(node, queueId);
  if (joined.status !== 201) throw new Error(`enqueue failed: ${joined.status} ${JSON.stringify(joined.body)}`);
  return untilAdmitted(node, queueId, String(joined.body.token));
}
