/** Typed errors, mapped once to the REST/WS error codes of DESIGN §4. */

export const ERROR_STATUS = {
  INVALID_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  POSITION_EXPIRED: 410,
  SESSION_EXPIRED: 410,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  /** The queue takes no new visitors (method `reject`: sold out / closed). Final: do not retry. */
  QUEUE_CLOSED: 403,
  QUEUE_FULL: 503,
  MAINTENANCE_MODE: 503,
  SERVICE_UNAVAILABLE: 503,
  /** A new place needs the answer to a join challenge first (docs/ABUSE.md). */
  CHALLENGE_REQUIRED: 428,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    /** Response headers that belong to this error (Allow, Retry-After, X-RateLimit-*). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'AppError';
    this.status = ERROR_STATUS[code];
  }
}

export const invalidRequest = (message: string, details?: Record<string, unknown>) =>
  new AppError('INVALID_REQUEST', message, details);
export const unauthorized = (message = 'Missing or invalid token') => new AppError('UNAUTHORIZED', message);
export const forbidden = (message: string) => new AppError('FORBIDDEN', message);
export const notFound = (message: string) => new AppError('NOT_FOUND', message);
