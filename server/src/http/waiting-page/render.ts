import { readFileSync } from 'node:fs';
import { LOCALES, type PageLocale } from './locales.js';

export const DEFAULT_TEMPLATE = readFileSync(new URL('./default.html', import.meta.url), 'utf8');

/**
 * The variables a waiting-page template may use (docs/WAITING_PAGE.md). Every value is
 * HTML-escaped except `strings_json`, which is JSON made safe for a `<script>` element.
 */
export interface PageVariables {
  queue_id: string;
  queue_name: string;
  queue_status: string;
  lang: string;
  server_url: string;
  sdk_url: string;
  strings_json: string;
  t: PageLocale['page'];
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

/** JSON that cannot end its `<script>` element early. */
export const scriptSafeJson = (value: unknown) =>
  JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');

/** Fills `{{name}}` and `{{t.name}}`; an unknown variable is left visible so operators notice it. */
export function renderTemplate(template: string, vars: PageVariables): string {
  return template.replace(/\{\{\s*([a-z_]+(?:\.[a-z_]+)?)\s*\}\}/g, (whole, name: string) => {
    if (name === 'strings_json') return vars.strings_json;
    const value = name.startsWith('t.')
      ? vars.t[name.slice(2) as keyof PageLocale['page']]
      : (vars as unknown as Record<string, unknown>)[name];
    return typeof value === 'string' ? escapeHtml(value) : whole;
  });
}

/** Built-in languages, plus the operator's (a JSON file: `{ "<lang>": { "page": {…}, "element": {…} } }`). */
export function loadLocales(file: string | undefined): Record<string, PageLocale> {
  if (!file) return LOCALES;
  const extra = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Partial<PageLocale>>;
  const merged: Record<string, PageLocale> = { ...LOCALES };
  for (const [lang, locale] of Object.entries(extra)) {
    const base = merged[lang] ?? (LOCALES.en as PageLocale);
    merged[lang] = { page: { ...base.page, ...locale.page }, element: { ...base.element, ...locale.element } };
  }
  return merged;
}
