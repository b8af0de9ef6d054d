/**
 * @waiting-room/client — the browser SDK of the waiting room. The curated public entry: the
 * core has no DOM dependency (browsers, React Native, Node); the `<waiting-room-position>`
 * element lives in `@waiting-room/client/element`.
 */
export { createWaitingRoom } from './room.js';
export { createMemoryStorage } from './ticket-store.js';
export { admissionUrl, handOff, redirectToOrigin, setSessionCookie, type HandoffOptions } from './handoff.js';
export { createBackoff, fullJitterDelay, type Backoff } from './backoff.js';
export { pollDelayMs } from './poll-session.js';
export { DEFAULT_STRINGS, formatEta, progressPercent, type WaitingRoomStrings, type WaitingRoomStringsInput } from './format.js';
export { CLOSE, TRANSIENT_CLOSE_CODES, isTransientClose } from './protocol.js';
export type {
  AdmittedData,
  ClientMessage,
  ErrorCode,
  ExpiredReason,
  JoinedData,
  PositionUpdateData,
  ServerMessage,
} from './protocol.js';
export type {
  Admission,
  TokenHandoff,
  ClientErrorCode,
  Environment,
  ExpiredEvent,
  FetchLike,
  JoinedEvent,
  PositionSnapshot,
  StateChange,
  StorageLike,
  Transport,
  WaitingRoom,
  WaitingRoomError,
  WaitingRoomEvents,
  WaitingRoomOptions,
  WaitingRoomState,
  WebSocketConstructor,
  WebSocketLike,
} from './types.js';
