/**
 * A full garbage collection in a server process from outside, through the V8 inspector the
 * benchmark starts it with (`--inspect=127.0.0.1:0`): memory per socket is then read without the
 * garbage of the join storm or of start-up, the same way the bare uWS baseline is read after its
 * own `gc()`. The server's code knows nothing of it.
 */
import WebSocket from 'ws';

/** The flag that opens the inspector on a free loopback port. */
export const INSPECT_ARG = '--inspect=127.0.0.1:0';

/** The inspector's WebSocket URL, from the line Node prints on start-up (else undefined). */
export function inspectorUrlOf(line: string): string | undefined {
  return /Debugger listening on (ws:\/\/\S+)/.exec(line)?.[1];
}

/** Runs `HeapProfiler.collectGarbage` (a full, compacting collection) and waits for it to finish. */
export async function collectGarbage(inspectorUrl: string, timeoutMs = 30_000): Promise<void> {
  const ws = new WebSocket(inspectorUrl);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer from ${inspectorUrl} within ${timeoutMs} ms`)), timeoutMs);
      ws.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      ws.once('open', () => ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' })));
      ws.on('message', (data: Buffer) => {
        const reply = JSON.parse(data.toString()) as { id?: number; error?: { message: string } };
        if (reply.id !== 1) return;
        clearTimeout(timer);
        if (reply.error) reject(new Error(`collectGarbage: ${reply.error.message}`));
        else resolve();
      });
    });
  } finally {
    ws.close();
  }
}
