import WebSocket from 'ws';

export interface Frame {
  type: string;
  data: Record<string, unknown>;
}

/** A test visitor on the socket protocol: records every frame and the close. */
export class TestSocket {
  readonly frames: Frame[] = [];
  /** When each frame arrived (Date.now()), by the index of `frames`. */
  readonly arrivedAt: number[] = [];
  closeCode: number | null = null;
  private readonly ws: WebSocket;
  private readonly opened: Promise<void>;
  readonly closed: Promise<number>;

  constructor(url: string, opts: { headers?: Record<string, string>; localAddress?: string } = {}) {
    this.ws = new WebSocket(url, { headers: opts.headers, localAddress: opts.localAddress });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
    this.closed = new Promise((resolve) => {
      this.ws.once('close', (code) => {
        this.closeCode = code;
        resolve(code);
      });
    });
    this.ws.on('message', (raw) => {
      this.frames.push(JSON.parse(raw.toString()) as Frame);
      this.arrivedAt.push(Date.now());
    });
    this.ws.on('error', () => undefined);
  }

  static async open(url: string, opts?: { headers?: Record<string, string>; localAddress?: string }): Promise<TestSocket> {
    const s = new TestSocket(url, opts);
    await s.opened;
    return s;
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  sendRaw(data: string | Buffer): void {
    this.ws.send(data);
  }

  close(): void {
    this.ws.close();
  }

  /** Drops the TCP connection without a close frame (a network blip). */
  terminate(): void {
    this.ws.terminate();
  }

  of(type: string): Frame[] {
    return this.frames.filter((f) => f.type === type);
  }

  last(type: string): Frame | undefined {
    return this.of(type).at(-1);
  }

  /** Waits for the first frame of `type` from index `from` on. */
  async next(type: string, timeoutMs = 10_000, from = 0): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = this.frames.slice(from).find((f) => f.type === type);
      if (frame) return frame;
      if (Date.now() > deadline) {
        throw new Error(`no ${type} within ${timeoutMs} ms; got ${JSON.stringify(this.frames.map((f) => f.type))}, close ${this.closeCode}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** join and wait for `joined` (or an `admitted`/`error`). */
  async join(data: Record<string, unknown> = {}): Promise<Frame> {
    const from = this.frames.length;
    this.send({ type: 'join', data });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const frame = this.frames.slice(from).find((f) => ['joined', 'admitted', 'error'].includes(f.type));
      if (frame) return frame;
      if (Date.now() > deadline || this.closeCode !== null) throw new Error(`join got no answer; close ${this.closeCode}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

export const wsUrl = (httpUrl: string, queueId: string) => `${httpUrl.replace(/^http/, 'ws')}/ws/queues/${queueId}`;
