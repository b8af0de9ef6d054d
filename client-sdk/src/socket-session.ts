import { CLOSE, isTransientClose, parseServerMessage, type ClientMessage, type ErrorData, type JoinData } from './protocol.js';
import { solveChallenge } from './challenge.js';
import type { Session, SessionHandler } from './session.js';
import type { WebSocketConstructor, WebSocketLike } from './types.js';

const OPEN = 1;
const noop = () => undefined;

/**
 * One WebSocket: open, `join` (with the ticket when there is one), report frames, and turn
 * the close code into a session end. Throws when the constructor throws (blocked by CSP,
 * mixed content, or no WebSocket at all): the caller falls back to polling.
 */
export function openSocketSession(
  opts: { url: string; WebSocket: WebSocketConstructor; join: JoinData },
  handler: SessionHandler,
): Session {
  const ws: WebSocketLike = new opts.WebSocket(opts.url);
  let opened = false;
  let joined = false;
  let ended = false;
  /** The server sends `error` just before a close; the close says whether to retry. */
  let lastError: ErrorData | undefined;

  const send = (message: ClientMessage) => {
    if (ws.readyState === OPEN) ws.send(JSON.stringify(message));
  };
  const detach = () => {
    ended = true;
    ws.onopen = noop;
    ws.onmessage = noop;
    ws.onclose = noop;
    ws.onerror = noop; // `ws` (Node) throws on an 'error' without a listener
  };
  const end: SessionHandler['end'] = (e) => {
    if (ended) return;
    detach();
    handler.end(e);
  };

  ws.onopen = () => {
    opened = true;
    send({ type: 'join', data: opts.join });
  };
  ws.onmessage = (event) => {
    if (ended || typeof event.data !== 'string') return;
    const message = parseServerMessage(event.data);
    if (!message) return;
    switch (message.type) {
      case 'joined':
        joined = true;
        handler.joined(message.data);
        return;
      case 'position_update':
        handler.position(message.data);
        return;
      case 'token_refresh':
        handler.token(message.data.token);
        return;
      case 'admitted':
        // The server closes with 4100 next; the admission is all that matters.
        end({ kind: 'admitted', admission: message.data });
        return;
      case 'expired':
        end({ kind: 'expired', reason: message.data.reason });
        return;
      case 'error':
        lastError = message.data;
        return;
      case 'challenge':
        // The queue asks new visitors for work first; the answer goes with a second `join`.
        void solveChallenge(message.data.challenge, () => ended).then((solution) => {
          if (solution && !ended) send({ type: 'join', data: { ...opts.join, challenge_solution: solution } });
        });
        return;
    }
  };
  ws.onerror = noop; // a close event always follows
  ws.onclose = (event) => {
    const code = event.code;
    if (code === CLOSE.REPLACED) return end({ kind: 'replaced' });
    if (code === CLOSE.UNAUTHORIZED) return end({ kind: 'unauthorized', error: lastError });
    if (code === CLOSE.EXPIRED) return end({ kind: 'expired', reason: 'removed' });
    // 4100 without the `admitted` frame: joining again with the ticket brings the admission back.
    if (isTransientClose(code) || code === CLOSE.ADMITTED) {
      return end({ kind: 'lost', opened, closeCode: code, ...(lastError ? { error: lastError } : {}) });
    }
    end({
      kind: 'failed',
      error: {
        code: lastError?.code ?? 'CONNECTION_CLOSED',
        message: lastError?.message ?? `The connection was closed (${code}${event.reason ? `: ${event.reason}` : ''})`,
        fatal: true,
        closeCode: code,
      },
    });
  };

  return {
    transport: 'websocket',
    close() {
      if (ended) return;
      detach();
      try {
        ws.close(CLOSE.NORMAL);
      } catch {
        // already closing
      }
    },
    leave() {
      if (ended || !joined || ws.readyState !== OPEN) return false;
      send({ type: 'leave' });
      return true;
    },
    poke: noop,
  };
}
