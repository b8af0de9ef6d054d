/**
 * HTTP load over keep-alive connections with undici's Pool: one connection per concurrent
 * worker, no pipelining, so each connection carries one request at a time like a browser's.
 * (Global fetch costs several times more CPU per request and would make the generator, not the
 * server, the bottleneck on a small machine.)
 */
import { Pool } from 'undici';
import { runClosedLoop, type ClosedLoopResult, type LoadLimit } from './closed-loop.js';

export const HTTP_CLIENT = 'undici Pool (keep-alive, 1 connection per worker, no pipelining)';

export interface HttpRequestSpec {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface HttpLoadOptions {
  pool: Pool;
  concurrency: number;
  limit: LoadLimit;
  request: (index: number) => HttpRequestSpec;
  /** Statuses that count as success; any other is a failure. */
  expectStatus: readonly number[];
  /** Called with the body of each successful response; without it bodies are discarded unread. */
  onBody?: (index: number, body: string) => void;
}

export interface HttpLoadResult extends ClosedLoopResult {
  /** How many responses had each status (failures included). */
  statusCounts: Record<string, number>;
}

export function createPool(origin: string, connections: number): Pool {
  return new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
}

export async function runHttpLoad(opts: HttpLoadOptions): Promise<HttpLoadResult> {
  const statusCounts: Record<string, number> = {};
  let firstBadResponse: string | undefined;
  const result = await runClosedLoop({
    concurrency: opts.concurrency,
    limit: opts.limit,
    operation: async (index) => {
      const spec = opts.request(index);
      const res = await opts.pool.request({
        method: spec.method,
        path: spec.path,
        headers: spec.headers,
        body: spec.body,
      });
      statusCounts[res.statusCode] = (statusCounts[res.statusCode] ?? 0) + 1;
      const ok = opts.expectStatus.includes(res.statusCode);
      if (!ok) {
        const text = await res.body.text();
        firstBadResponse ??= `${spec.method} ${spec.path} -> ${res.statusCode} ${text.slice(0, 300)}`;
      } else if (opts.onBody) {
        opts.onBody(index, await res.body.text());
      } else {
        await res.body.dump();
      }
      return ok;
    },
  });
  return { ...result, statusCounts, firstError: result.firstError ?? firstBadResponse };
}
