/**
 * The wire contract of DESIGN §4, shared by the server and every client: socket message
 * shapes, close codes, and the REST views the polling fallback reads. No runtime
 * dependencies, so it bundles into the browser SDK and the server imports it as is
 * (server/src/realtime/protocol.ts adds the zod schemas that validate incoming frames).
 * docs/PROTOCOL.md and docs/asyncapi.yaml describe the same.
 */

/** Close codes. Transient ones tell a client to reconnect with backoff; final ones do not. */
export const CLOSE = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  /** Never sent: what a client sees when the connection drops without a close frame. */
  ABNORMAL: 1006,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  SERVICE_RESTART: 1012,
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
  /** The queue takes no new visitors (sold out / closed): final. */
  QUEUE_CLOSED: 4403,
} as const;

export type CloseCode = (typeof CLOSE)[keyof typeof CLOSE];

export const TRANSIENT_CLOSE_CODES: readonly number[] = [
  CLOSE.GOING_AWAY,
  CLOSE.ABNORMAL,
  CLOSE.INTERNAL_ERROR,
  CLOSE.SERVICE_RESTART,
  CLOSE.TRY_AGAIN_LATER,
  CLOSE.SLOW_CONSUMER,
  CLOSE.RATE_LIMITED,
  CLOSE.QUEUE_UNAVAILABLE,
];

/** true when a client should reconnect (with backoff) and `join` again with its ticket. */
export function isTransientClose(code: number): boolean {
  return TRANSIENT_CLOSE_CODES.includes(code);
}

/** The error codes of the REST API and of socket `error` messages. */
export type ErrorCode =
  | 'INVALID_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'CONFLICT'
  | 'POSITION_EXPIRED'
  | 'SESSION_EXPIRED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'RATE_LIMITED'
  | 'INTERNAL_ERROR'
  | 'QUEUE_CLOSED'
  | 'QUEUE_FULL'
  | 'MAINTENANCE_MODE'
  | 'SERVICE_UNAVAILABLE'
  | 'CHALLENGE_REQUIRED';

/**
 * A join challenge (docs/ABUSE.md): with the built-in proof of work, find a `nonce` (any string
 * of up to 64 characters) such that SHA-256 of the UTF-8 bytes of `token + nonce` starts with
 * `difficulty` zero bits, and join again with `{token, nonce}` before `expires_at`.
 */
export interface ChallengeData {
  type: 'proof_of_work';
  algorithm: 'sha256';
  difficulty: number;
  token: string;
  expires_at: string;
}

export interface ChallengeSolution {
  token: string;
  nonce: string;
}

/** Why a join got a challenge: none was sent, or the one sent was wrong, too old or used. */
export type ChallengeReason = 'required' | 'invalid' | 'expired' | 'replayed';

export interface ChallengeMessageData {
  challenge: ChallengeData;
  reason: ChallengeReason;
}

// client → server

export interface JoinData {
  /** A ticket from `joined`, `token_refresh` or the REST API: resume that exact place. */
  token?: string;
  /** A signed grant for a priority lane (admin API `POST /admin/queues/{id}/grants`). */
  priority_grant?: string;
  /** The answer to a `challenge` (a new place only; resuming with `token` never needs one). */
  challenge_solution?: ChallengeSolution;
}

export type ClientMessage =
  | { type: 'join'; data?: JoinData }
  | { type: 'heartbeat'; data?: { timestamp?: number } }
  | { type: 'leave'; data?: Record<string, never> };

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

export interface TokenRefreshData {
  token: string;
  expires_at: string;
}

export interface AdmittedData {
  session_id: string;
  session_token: string;
  redirect_url: string;
  session_expires_at: string;
}

export type ExpiredReason = 'heartbeat_timeout' | 'left' | 'session_ended' | 'removed';

export interface ExpiredData {
  reason: ExpiredReason;
}

export interface ErrorData {
  code: ErrorCode;
  message: string;
}

export type ServerMessage =
  | { type: 'joined'; data: JoinedData }
  | { type: 'position_update'; data: PositionUpdateData }
  | { type: 'token_refresh'; data: TokenRefreshData }
  | { type: 'admitted'; data: AdmittedData }
  | { type: 'expired'; data: ExpiredData }
  | { type: 'error'; data: ErrorData }
  | { type: 'challenge'; data: ChallengeMessageData };

export const SERVER_MESSAGE_TYPES: ReadonlySet<string> = new Set<ServerMessage['type']>([
  'joined',
  'position_update',
  'token_refresh',
  'admitted',
  'expired',
  'error',
  'challenge',
]);

/**
 * Reads one server frame. The server is trusted to send the shapes above; this only refuses
 * what is not a `{type, data}` object of a known type (undefined), so a client never throws
 * on a frame from a newer server.
 */
export function parseServerMessage(frame: string): ServerMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(frame);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { type, data } = value as { type?: unknown; data?: unknown };
  if (typeof type !== 'string' || !SERVER_MESSAGE_TYPES.has(type)) return undefined;
  if (typeof data !== 'object' || data === null) return undefined;
  return value as ServerMessage;
}

// REST views (docs/API.md): the polling fallback reads the same fields as `joined`.

/** `enqueue`, `status` and `heartbeat` while waiting. */
export interface WaitingStatus extends Omit<JoinedData, 'resumed'> {
  /** `heartbeat` only: when to send the next one. */
  next_heartbeat_seconds?: number;
}

/** `enqueue`, `status` and `heartbeat` once admitted. */
export interface AdmittedStatus extends AdmittedData {
  position_id: string;
  queue_id: string;
  status: 'admitted';
  admitted: true;
}

export type PositionStatus = WaitingStatus | AdmittedStatus;

/** Every REST error body. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: Record<string, unknown> };
  request_id?: string;
}
