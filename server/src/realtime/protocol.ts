import { z } from 'zod';
import type { ErrorCode } from '../domain/errors.js';

/**
 * The socket protocol of DESIGN §4: every frame is JSON `{type, data}`. One module for the
 * message shapes and close codes; docs/PROTOCOL.md and docs/asyncapi.yaml describe the same.
 */

export const MAX_FRAME_BYTES = 4 * 1024;

/** Close codes. Transient ones tell a client to reconnect with backoff; final ones do not. */
export const CLOSE = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  TRY_AGAIN_LATER: 1013,
  SLOW_CONSUMER: 4008,
  RATE_LIMITED: 4029,
  ADMITTED: 4100,
  BAD_REQUEST: 4400,
  UNAUTHORIZED: 4401,
  QUEUE_NOT_FOUND: 4404,
  REPLACED: 4409,
  EXPIRED: 4410,
  QUEUE_UNAVAILABLE: 4503,
} as const;

export const TRANSIENT_CLOSE_CODES: readonly number[] = [
  1001, 1006, 1011, 1012, 1013, CLOSE.SLOW_CONSUMER, CLOSE.RATE_LIMITED, CLOSE.QUEUE_UNAVAILABLE,
];

export function isTransientClose(code: number): boolean {
  return TRANSIENT_CLOSE_CODES.includes(code);
}

/** Which close code follows an error sent on the socket. */
export function closeCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'UNAUTHORIZED':
    case 'FORBIDDEN':
      return CLOSE.UNAUTHORIZED;
    case 'NOT_FOUND':
      return CLOSE.QUEUE_NOT_FOUND;
    case 'POSITION_EXPIRED':
    case 'SESSION_EXPIRED':
      return CLOSE.EXPIRED;
    case 'RATE_LIMITED':
      return CLOSE.RATE_LIMITED;
    case 'QUEUE_FULL':
    case 'MAINTENANCE_MODE':
    case 'SERVICE_UNAVAILABLE':
      return CLOSE.QUEUE_UNAVAILABLE;
    case 'INTERNAL_ERROR':
      return CLOSE.INTERNAL_ERROR;
    default:
      return CLOSE.BAD_REQUEST;
  }
}

// client → server

const joinData = z
  .object({
    token: z.string().min(1).max(2048).optional(),
    priority_grant: z.string().min(1).max(2048).optional(),
  })
  .strict();

export const clientMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('join'), data: joinData.optional() }).strict(),
  z
    .object({
      type: z.literal('heartbeat'),
      data: z.object({ timestamp: z.number().optional() }).strict().optional(),
    })
    .strict(),
  z.object({ type: z.literal('leave'), data: z.object({}).strict().optional() }).strict(),
]);

export type ClientMessage = z.infer<typeof clientMessageSchema>;

// server → client

export interface JoinedData {
  position_id: string;
  queue_id: string;
  position: number;
  queue_length: number;
  estimated_wait_seconds: number;
  status: 'waiting';
  admitted: false;
  token: string;
  token_expires_at: string;
  heartbeat_interval_seconds: number;
  heartbeat_timeout_seconds: number;
  expires_at: string;
  /** true when this socket took over an existing place (resume), false for a new one. */
  resumed: boolean;
}

export interface PositionUpdateData {
  position: number;
  queue_length: number;
  estimated_wait_seconds: number;
}

export interface AdmittedData {
  session_id: string;
  session_token: string;
  redirect_url: string;
  session_expires_at: string;
}

export type ServerMessage =
  | { type: 'joined'; data: JoinedData }
  | { type: 'position_update'; data: PositionUpdateData }
  | { type: 'token_refresh'; data: { token: string; expires_at: string } }
  | { type: 'admitted'; data: AdmittedData }
  | { type: 'expired'; data: { reason: 'heartbeat_timeout' | 'left' | 'session_ended' | 'removed' } }
  | { type: 'error'; data: { code: ErrorCode; message: string } };

export function encode(message: ServerMessage): string {
  return JSON.stringify(message);
}

/** Parses one frame; a reason string when it is not a valid client message. */
export function decode(frame: ArrayBuffer): ClientMessage | string {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(frame).toString('utf8'));
  } catch {
    return 'frame is not valid JSON';
  }
  const parsed = clientMessageSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    return `invalid message: ${where}${issue?.message ?? 'unknown shape'}`;
  }
  return parsed.data;
}
