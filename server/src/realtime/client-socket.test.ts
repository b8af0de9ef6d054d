import { describe, expect, it } from 'vitest';
import type { WebSocket } from '../http/uws.js';
import { isTransientClose } from '../../../client-sdk/src/protocol.js';
import { ClientSocket, type UserData } from './client-socket.js';
import { CLOSE } from './protocol.js';

/** The part of a uWS socket ClientSocket uses, with a send buffer that fills as the peer stops reading. */
function peerThatStopsReading() {
  const sent: string[] = [];
  const ends: { code: number; reason: string }[] = [];
  let buffered = 0;
  const ws = {
    send(message: string) {
      sent.push(message);
      buffered += message.length;
      return 0; // as uWS says when a frame had to be buffered (the peer is not reading)
    },
    getBufferedAmount: () => buffered,
    end(code: number, reason: string) {
      ends.push({ code, reason });
    },
  };
  return { ws: ws as unknown as WebSocket<UserData>, sent, ends };
}

describe('ClientSocket', () => {
  it('drops a consumer whose send buffer passes the limit, with the transient close code, once', () => {
    const peer = peerThatStopsReading();
    const socket = new ClientSocket('q', { ipHash: 'h', sockets: 1 }, undefined, undefined, 200);
    socket.ws = peer.ws;
    const update = { type: 'position_update', data: { position: 5, queue_length: 9, estimated_wait_seconds: 60 } } as const;
    socket.send(update);
    socket.send(update);
    expect(peer.ends).toEqual([]); // ~75 bytes each: under 200
    socket.send(update);
    expect(peer.ends).toEqual([{ code: CLOSE.SLOW_CONSUMER, reason: 'slow consumer' }]);
    expect(socket.closed).toBe(true);
    socket.send(update);
    socket.close(CLOSE.NORMAL, 'bye');
    expect(peer.sent).toHaveLength(3); // nothing is sent to, and nothing closes, a dropped socket
    expect(peer.ends).toHaveLength(1);
  });

  it('SLOW_CONSUMER is a transient close code: the SDK reconnects and resumes', () => {
    expect(isTransientClose(CLOSE.SLOW_CONSUMER)).toBe(true);
  });
});
