import { createHash } from 'node:crypto';
import { AppError, notFound } from '../../domain/errors.js';
import { isValidQueueId } from '../../domain/queue.js';
import { effectiveMode } from '../../domain/schedule.js';
import type { QueueDirectory } from '../../services/queues.js';
import { pickLanguage, type PageLocale } from '../waiting-page/locales.js';
import { renderTemplate, scriptSafeJson } from '../waiting-page/render.js';
import type { RequestContext, Reply, Route } from '../router.js';
import { pathParam } from './visitor.js';

export const SDK_PATH = '/sdk/waiting-room.js';

export interface WaitingPageDeps {
  queues: QueueDirectory;
  template: string;
  locales: Record<string, PageLocale>;
  autoCreate: boolean;
  /** The browser bundle, built once on first use. */
  bundle: () => Promise<string>;
}

/** The default waiting page (`GET /queues/{id}`) and the browser SDK it loads. */
export function waitingPageRoutes(d: WaitingPageDeps): Route[] {
  let etag: string | undefined;
  return [
    {
      method: 'GET',
      pattern: '/queues/:queue_id',
      async handler(ctx) {
        const queueId = pathParam(ctx, 'queue_id');
        if (!isValidQueueId(queueId)) throw new AppError('INVALID_REQUEST', 'Invalid queue id');
        const queue = await d.queues.get(queueId);
        if (!queue && !d.autoCreate) throw notFound(`Queue ${queueId} does not exist`);
        const lang = pickLanguage(d.locales, ctx.query.get('lang'), ctx.headers['accept-language']);
        const locale = d.locales[lang] as PageLocale;
        // A queue that rejects newcomers says so at once (the element says it too when its join
        // is refused with QUEUE_CLOSED, also on a page opened before the switch).
        const closed = queue !== null && effectiveMode(queue, Date.now()).method === 'reject';
        const page = closed ? { ...locale.page, heading: locale.page.closed_heading, intro: locale.page.closed_intro, keep_open: '' } : locale.page;
        const html = renderTemplate(d.template, {
          queue_id: queueId,
          queue_name: queue?.name ?? queueId,
          queue_status: queue?.status ?? 'active',
          lang,
          server_url: '',
          sdk_url: SDK_PATH,
          strings_json: scriptSafeJson(locale.element),
          t: page,
        });
        return {
          status: 200,
          text: html,
          contentType: 'text/html; charset=utf-8',
          headers: {
            'cache-control': 'no-store',
            'content-language': lang,
            'x-content-type-options': 'nosniff',
            'referrer-policy': 'no-referrer',
          },
        };
      },
    },
    {
      // Browsers ask for it on every page; a 404 would be a console error on the waiting page.
      method: 'GET',
      pattern: '/favicon.ico',
      handler: () => ({ status: 204, headers: { 'cache-control': 'public, max-age=86400' } }),
    },
    {
      method: 'GET',
      pattern: SDK_PATH,
      async handler(ctx: RequestContext): Promise<Reply> {
        const code = await d.bundle();
        etag ??= `"${createHash('sha256').update(code).digest('base64url').slice(0, 16)}"`;
        if (ctx.headers['if-none-match'] === etag) return { status: 304, headers: { etag } };
        return {
          status: 200,
          text: code,
          contentType: 'text/javascript; charset=utf-8',
          headers: { etag, 'cache-control': 'public, max-age=300', 'x-content-type-options': 'nosniff' },
        };
      },
    },
  ];
}
