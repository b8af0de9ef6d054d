import type { Admission, TokenHandoff } from './types.js';

/**
 * Handing the admission (session) token to the origin, and going there. Every DOM access is
 * guarded: outside a browser the redirect and the cookie are no-ops and the URL is returned.
 */

export interface HandoffOptions {
  /** `auto` (default), `query`, `cookie` or `none`. */
  tokenHandoff?: TokenHandoff;
  /** Default `wr_token`. */
  queryParam?: string;
  /** Default `wr_session`. */
  cookieName?: string;
  cookieDomain?: string;
}

const pageUrl = (): string | undefined => (typeof location === 'undefined' ? undefined : location.href);

/** The redirect URL with `?<queryParam>=<session token>` added (keeping its query and hash). */
export function admissionUrl(admission: Admission, queryParam = 'wr_token'): string {
  let url: URL;
  try {
    url = new URL(admission.redirectUrl, pageUrl());
  } catch {
    return admission.redirectUrl;
  }
  url.searchParams.set(queryParam, admission.sessionToken);
  return url.toString();
}

/**
 * Sets `<name>=<token>; Path=/; SameSite=Lax; Max-Age=<until the session ends>` (+ `Secure` on
 * https, + `Domain` when given). A cookie set by the waiting room's page reaches the origin
 * only when both share a parent domain (`queue.example.com` and `shop.example.com` with
 * `cookieDomain: 'example.com'`); otherwise use the query handoff.
 */
export function setSessionCookie(admission: Admission, opts: { cookieName?: string; cookieDomain?: string } = {}): boolean {
  if (typeof document === 'undefined') return false;
  const maxAge = Math.max(0, Math.floor((Date.parse(admission.sessionExpiresAt) - Date.now()) / 1000));
  const parts = [
    `${opts.cookieName ?? 'wr_session'}=${encodeURIComponent(admission.sessionToken)}`,
    'Path=/',
    'SameSite=Lax',
    ...(Number.isFinite(maxAge) ? [`Max-Age=${maxAge}`] : []),
    ...(typeof location !== 'undefined' && location.protocol === 'https:' ? ['Secure'] : []),
    ...(opts.cookieDomain ? [`Domain=${opts.cookieDomain}`] : []),
  ];
  document.cookie = parts.join('; ');
  return true;
}

/**
 * `auto`: a cookie where it reaches the shop — the redirect goes to this page's own host, or to a
 * host inside `cookieDomain` — else the query parameter.
 */
export function cookieReachesOrigin(redirectUrl: string, cookieDomain: string | undefined): boolean {
  const here = pageUrl();
  let target: URL;
  try {
    target = new URL(redirectUrl, here);
  } catch {
    return false;
  }
  if (here !== undefined && new URL(here).host === target.host) return true;
  if (!cookieDomain) return false;
  const domain = cookieDomain.replace(/^\./, '').toLowerCase();
  const host = target.hostname.toLowerCase();
  return host === domain || host.endsWith(`.${domain}`);
}

/** Hands the token over as configured and returns the URL to go to ('' when there is none). */
export function handOff(admission: Admission, opts: HandoffOptions = {}): string {
  if (!admission.redirectUrl) return '';
  let mode = opts.tokenHandoff ?? 'auto';
  if (mode === 'auto') mode = cookieReachesOrigin(admission.redirectUrl, opts.cookieDomain) ? 'cookie' : 'query';
  switch (mode) {
    case 'query':
      return admissionUrl(admission, opts.queryParam);
    case 'cookie':
      setSessionCookie(admission, opts);
      return admission.redirectUrl;
    case 'none':
      return admission.redirectUrl;
  }
}

/** `handOff`, then navigate (browser only; `location.replace`: Back must not land on the queue page and join anew). */
export function redirectToOrigin(admission: Admission, opts: HandoffOptions = {}): string {
  const url = handOff(admission, opts);
  if (url && typeof location !== 'undefined' && typeof location.replace === 'function') location.replace(url);
  return url;
}
