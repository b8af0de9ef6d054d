import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { RequestContext, Reply, Route } from '../router.js';

/** The dashboard's files, read once at start and served from memory: no build step. */
const ASSETS = {
  '/admin': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/admin/dashboard.js': { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
  '/admin/dashboard.css': { file: 'dashboard.css', type: 'text/css; charset=utf-8' },
} as const;

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  // Same-origin only: the page's script, styles, the feed socket and the admin API.
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; " +
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};

/**
 * `GET /admin`: the operator dashboard. The page itself is public (it holds no data); it asks for
 * the admin key and gets everything over the feed socket and the admin API, which check it.
 */
export function dashboardRoutes(): Route[] {
  return Object.entries(ASSETS).map(([pattern, asset]) => {
    const body = readFileSync(new URL(`../dashboard/${asset.file}`, import.meta.url), 'utf8');
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`;
    return {
      method: 'GET',
      pattern,
      handler(ctx: RequestContext): Reply {
        const headers = { ...SECURITY_HEADERS, etag, 'cache-control': 'no-cache' };
        if (ctx.headers['if-none-match'] === etag) return { status: 304, headers };
        return { status: 200, text: body, contentType: asset.type, headers };
      },
    } satisfies Route;
  });
}
