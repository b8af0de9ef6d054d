import { z } from 'zod';
import {
  CLOSE,
  TRANSIENT_CLOSE_CODES,
  isTransientClose,
  type AdmittedData,
  type ClientMessage as WireClientMessage,
  type ErrorCode as WireErrorCode,
  type ErrorData,
  type ExpiredData,
  type ExpiredReason,
  type JoinedData,
  type PositionUpdateData,
  type ServerMessage,
  type TokenRefreshData,
} from '../../../client-sdk/src/protocol.js';
import type { ErrorCode } from '../domain/errors.js';

/**
 * The socket protocol of DESIGN §4 on the server side. The message shapes, close codes and
 * `isTransientClose` live in one module shared with the browser SDK
 * (client-sdk/src/protocol.ts); this file adds what only the server needs: the zod schemas
 * that validate incoming frames, encode/decode, and which close code follows an error.
 */

export const MAX_FRAME_BYTES = 4 * 1024;

export { CLOSE, TRANSIENT_CLOSE_CODES, isTransientClose };
export type {
  AdmittedData,
  ErrorData,
  ExpiredData,
  ExpiredReason,
  JoinedData,
  PositionUpdateData,
  ServerMessage,
  TokenRefreshData,
};

/** true only when A and B are the same type (an added optional field makes them differ). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

// The wire's error codes are exactly the domain's: adding a code on one side fails to compile.
const _wireErrorCodesMatch: Same<ErrorCode, WireErrorCode> = true;

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
    case 'QUEUE_CLOSED':
      return CLOSE.QUEUE_CLOSED;
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
    challenge_solution: z
      .object({ token: z.string().min(1).max(1024), nonce: z.string().min(1).max(64) })
      .strict()
      .optional(),
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

// The schemas accept exactly the client messages of the shared protocol module.
const _schemaMatchesWire: Same<ClientMessage, WireClientMessage> = true;

export function encode(message: ServerMessage): string {
  if (message.type === 'position_update' && isIntegerUpdate(message.data)) {
    // The message every waiting visitor gets every tick: for integers a template gives the same
    // JSON as JSON.stringify (a test checks) for a fraction of the work.
    const d = message.data;
    return `{"type":"position_update","data":{"position":${d.position},"queue_length":${d.queue_length},"estimated_wait_seconds":${d.estimated_wait_seconds}}}`;
  }
  return JSON.stringify(message);
}

function isIntegerUpdate(d: { position: number; queue_length: number; estimated_wait_seconds: number }): boolean {
  return Number.isSafeInteger(d.position) && Number.isSafeInteger(d.queue_length) && Number.isSafeInteger(d.estimated_wait_seconds);
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
