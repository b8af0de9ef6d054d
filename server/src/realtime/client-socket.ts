import type { WebSocket } from '../http/uws.js';
import type { Visitor } from './hub.js';
import { CLOSE, encode, type ServerMessage } from './protocol.js';

/** The sockets of one client address on this node (one record per address, not a string per socket). */
export interface Address {
  readonly ipHash: string;
  sockets: number;
}

/** Seconds since this module loaded: small integers, so per-socket times stay unboxed. */
const EPOCH_MS = Date.now();
export const nowSeconds = () => Math.floor((Date.now() - EPOCH_MS) / 1000);

/**
 * A socket's protocol state and, once it waits here, the hub's visitor (position, what was last
 * pushed): one object per socket with its methods on the prototype (no closures per socket).
 * uWS copies the user data's own properties onto its socket object, so the user data is just a
 * reference to this.
 */
export interface UserData {
  client: ClientSocket;
}

export class ClientSocket implements Visitor {
  ws: WebSocket<UserData> | undefined = undefined;
  state: 'new' | 'joining' | 'waiting' | 'done' = 'new';
  /** '' until a place is held over this socket (and for a tarpitted bot's, which is not tracked). */
  positionId = '';
  closed = false;
  badFrames = 0;
  framesInWindow = 0;
  windowStart = nowSeconds();
  // The hub's (Visitor): set when the socket is attached to a room.
  score = 0;
  position = 0;
  version = 0;
  sentPosition = 0;
  sentQueueLength = 0;
  sentEta = 0;
  ticketExpiresAtS = 0;

  constructor(
    readonly queueId: string,
    public address: Address,
    /** A ticket sent as `Authorization: Bearer` on the upgrade: join at once with it, then drop it. */
    public upgradeTicket: string | undefined,
    /** Read by a new place's abuse checks only; dropped once joined. */
    public userAgent: string | undefined,
    private readonly maxBackpressureBytes: number,
  ) {}

  send(message: ServerMessage): void {
    const ws = this.ws;
    if (this.closed || !ws) return;
    // 1: written out; 0: buffered behind backpressure; 2: dropped past uWS's own limit. Only a
    // socket that did not take the frame at once is asked how much it holds (one native call
    // fewer per frame on the fan-out's hot path).
    const status = ws.send(encode(message), false);
    // A consumer that cannot keep up is dropped; it reconnects (transient) and resumes.
    if (status !== 1 && !this.closed && ws.getBufferedAmount() > this.maxBackpressureBytes) {
      this.closed = true;
      ws.end(CLOSE.SLOW_CONSUMER, 'slow consumer');
    }
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.state = 'done';
    this.ws?.end(code, reason);
  }
}
