import type { AdmittedData, ErrorData, ExpiredReason, JoinedData, PositionUpdateData } from './protocol.js';
import type { Transport, WaitingRoomError } from './types.js';

/**
 * One connection attempt over one transport, from opening to its end. A session reports what
 * it hears through a handler and decides nothing beyond that; reconnecting, storing tickets
 * and emitting events is the waiting room's job (waiting-room.ts).
 */
export interface SessionHandler {
  /** The place is held: `joined` on the socket, or the first REST answer. */
  joined(view: JoinedData): void;
  position(update: PositionUpdateData): void;
  /** A newer ticket (token_refresh, or any REST answer). */
  token(token: string): void;
  /** Called once; nothing is reported after it. */
  end(end: SessionEnd): void;
}

export type SessionEnd =
  | { kind: 'admitted'; admission: AdmittedData }
  | { kind: 'expired'; reason: ExpiredReason }
  /** Another connection took the place over (4409). */
  | { kind: 'replaced' }
  /** The ticket was refused (4401 / HTTP 401), or a priority grant (FORBIDDEN). */
  | { kind: 'unauthorized'; error: ErrorData | undefined }
  /** Transient: retry with backoff. `opened`: the socket did open before it was lost. */
  | { kind: 'lost'; opened: boolean; error?: ErrorData; retryAfterMs?: number; closeCode?: number }
  /** Final: do not retry. */
  | { kind: 'failed'; error: WaitingRoomError };

export interface Session {
  readonly transport: Transport;
  /** Ends the session quietly (no `end` report). */
  close(): void;
  /** Asks the server to give the place up; false when this session cannot (not joined). */
  leave(): boolean;
  /** Polling: poll now instead of at the next tick (after the page became visible). */
  poke(): void;
}
