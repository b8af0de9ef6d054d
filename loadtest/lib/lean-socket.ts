/**
 * A lean WebSocket client for the load generator: the part of `ws`'s client API the generator
 * uses (`open`, `message`, `error`, `close` events; `send`, `close`, `terminate`) over a bare TCP
 * socket. On the 2-core benchmark machine the generators compete with the servers for the same
 * cores, and `ws`'s handshake goes through Node's whole HTTP client (a ClientRequest, header
 * objects, a parser) for every visitor: that is CPU taken from the servers being measured.
 *
 * What it leaves out, on purpose: TLS (`wss:`), extensions, redirects, verifying
 * `Sec-WebSocket-Accept` (the status line says 101), and a random masking key — client frames
 * are masked with a zero key (RFC 6455 wants a random one to protect proxies from cache
 * poisoning; on loopback there are none, and a server cannot tell the difference).
 */
import { randomFillSync } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';

export interface LeanSocketOptions {
  localAddress?: string;
  /** Give up (error + close 1006) when the upgrade has not completed within this. */
  handshakeTimeout?: number;
  /** Frames larger than this close the connection with 1009. */
  maxPayload?: number;
}

export interface LeanSocketEvents {
  open: [];
  message: [data: Buffer, isBinary: boolean];
  error: [err: Error];
  close: [code: number, reason: Buffer];
}

const OPCODE = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;
const HEADER_END = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);

/** `Sec-WebSocket-Key`s from one pool of random bytes: one call into the CSPRNG per 256 sockets. */
const KEY_BYTES = 16;
const keyPool = Buffer.alloc(KEY_BYTES * 256);
let keyPoolOffset = keyPool.length;
function handshakeKey(): string {
  if (keyPoolOffset === keyPool.length) {
    randomFillSync(keyPool);
    keyPoolOffset = 0;
  }
  keyPoolOffset += KEY_BYTES;
  return keyPool.toString('base64', keyPoolOffset - KEY_BYTES, keyPoolOffset);
}

export class LeanWebSocket extends EventEmitter<LeanSocketEvents> {
  private readonly socket: Socket;
  private state: 'connecting' | 'open' | 'closing' | 'closed' = 'connecting';
  private pending: Buffer = EMPTY;
  private fragments: Buffer[] = [];
  private fragmentedBinary = false;
  private received: { code: number; reason: Buffer } | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private readonly maxPayload: number;

  constructor(url: string, opts: LeanSocketOptions = {}) {
    super();
    const u = new URL(url);
    if (u.protocol !== 'ws:') throw new Error(`only ws: URLs are supported, not ${u.protocol}`);
    this.maxPayload = opts.maxPayload ?? 64 * 1024;
    const socket = connect({
      host: u.hostname,
      port: Number(u.port || 80),
      noDelay: true,
      ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
    });
    this.socket = socket;
    const key = handshakeKey();
    socket.once('connect', () => {
      socket.write(
        `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.emit('error', err));
    socket.on('close', () => this.onSocketClose());
    if (opts.handshakeTimeout !== undefined) {
      this.handshakeTimer = setTimeout(() => this.fail(new Error('Opening handshake has timed out')), opts.handshakeTimeout);
    }
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  send(text: string): void {
    if (this.state !== 'open') return;
    this.socket.write(frame(OPCODE.text, Buffer.from(text)));
  }

  /** Sends a close frame and half-closes; `close` fires once the server has closed too. */
  close(code = 1000, reason = ''): void {
    if (this.state === 'connecting') return this.terminate();
    if (this.state !== 'open') return;
    this.state = 'closing';
    const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
    payload.writeUInt16BE(code, 0);
    payload.write(reason, 2);
    this.socket.end(frame(OPCODE.close, payload));
  }

  terminate(): void {
    this.socket.destroy();
  }

  private fail(err: Error): void {
    if (this.state === 'closed') return;
    this.emit('error', err);
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    if (this.state === 'connecting') {
      const end = buf.indexOf(HEADER_END);
      if (end < 0) {
        if (buf.length > 16 * 1024) return this.fail(new Error('Upgrade response headers too large'));
        this.pending = buf;
        return;
      }
      const statusLine = buf.toString('latin1', 0, buf.indexOf('\r\n'));
      const status = /^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1];
      if (status !== '101') return this.fail(new Error(`Unexpected server response: ${status ?? statusLine.slice(0, 40)}`));
      clearTimeout(this.handshakeTimer);
      this.handshakeTimer = undefined;
      this.state = 'open';
      buf = buf.subarray(end + HEADER_END.length);
      this.emit('open');
    }
    this.pending = this.readFrames(buf);
  }

  /** Handles every whole frame in `buf`; returns the bytes of an incomplete last one (copied). */
  private readFrames(buf: Buffer): Buffer {
    while (buf.length >= 2 && this.state !== 'closed') {
      const b0 = buf[0] as number;
      const b1 = buf[1] as number;
      let length = b1 & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buf.length < 4) break;
        length = buf.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buf.length < 10) break;
        length = Number(buf.readBigUInt64BE(2));
        offset = 10;
      }
      if (length > this.maxPayload) {
        this.fail(new Error(`Max payload size exceeded (${length} bytes)`));
        return EMPTY;
      }
      const masked = (b1 & 0x80) !== 0; // a server must not mask; read it anyway
      const payloadStart = offset + (masked ? 4 : 0);
      if (buf.length < payloadStart + length) break;
      let payload = buf.subarray(payloadStart, payloadStart + length);
      if (masked) payload = unmask(payload, buf.subarray(offset, offset + 4));
      buf = buf.subarray(payloadStart + length);
      this.onFrame((b0 & 0x80) !== 0, b0 & 0x0f, payload);
    }
    return buf.length > 0 ? Buffer.from(buf) : EMPTY;
  }

  private onFrame(fin: boolean, opcode: number, payload: Buffer): void {
    switch (opcode) {
      case OPCODE.text:
      case OPCODE.binary:
        if (fin) this.emit('message', payload, opcode === OPCODE.binary);
        else {
          this.fragments = [Buffer.from(payload)];
          this.fragmentedBinary = opcode === OPCODE.binary;
        }
        return;
      case OPCODE.continuation:
        this.fragments.push(Buffer.from(payload));
        if (fin) {
          const whole = Buffer.concat(this.fragments);
          this.fragments = [];
          this.emit('message', whole, this.fragmentedBinary);
        }
        return;
      case OPCODE.close:
        this.received = {
          code: payload.length >= 2 ? payload.readUInt16BE(0) : 1005,
          reason: payload.length > 2 ? Buffer.from(payload.subarray(2)) : EMPTY,
        };
        if (this.state === 'open') {
          // Echo the code, as the RFC asks, and let the server close the TCP connection.
          this.state = 'closing';
          this.socket.end(frame(OPCODE.close, payload.subarray(0, 2)));
        }
        return;
      case OPCODE.ping:
        if (this.state === 'open') this.socket.write(frame(OPCODE.pong, payload));
        return;
      default:
        return; // pong, or a reserved opcode: nothing to do
    }
  }

  private onSocketClose(): void {
    clearTimeout(this.handshakeTimer);
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.emit('close', this.received?.code ?? 1006, this.received?.reason ?? EMPTY);
  }
}

/** A client frame: FIN set, masked with a zero key (so the payload goes out as it is). */
function frame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const lengthBytes = length < 126 ? 0 : length < 65_536 ? 2 : 8;
  const header = Buffer.alloc(2 + lengthBytes + 4); // the mask key stays 0
  header[0] = 0x80 | opcode;
  if (lengthBytes === 0) header[1] = 0x80 | length;
  else if (lengthBytes === 2) {
    header[1] = 0x80 | 126;
    header.writeUInt16BE(length, 2);
  } else {
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([header, payload]);
}

function unmask(payload: Buffer, mask: Buffer): Buffer {
  const out = Buffer.allocUnsafe(payload.length);
  for (let i = 0; i < payload.length; i++) out[i] = (payload[i] as number) ^ (mask[i & 3] as number);
  return out;
}
