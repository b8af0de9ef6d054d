import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

/**
 * The single-file browser bundle (Node only). The server can call `buildBrowserBundle()` at
 * start-up and serve the string from memory, so no build step is needed after `npm ci`; the
 * CLI (`npm run build -w client-sdk`) writes the same string to dist/waiting-room.js.
 */

const ENTRY = fileURLToPath(new URL('../src/browser.ts', import.meta.url));
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The gzip budget of the bundle. */
export const BUNDLE_BUDGET_GZIP_BYTES = 10 * 1024;

/**
 * Minified IIFE: `window.WaitingRoom = { createWaitingRoom, … }`, and `<waiting-room-position>`
 * defined on load. Targets ES2020 browsers (Chrome/Edge 80+, Firefox 74+, Safari 14+).
 */
export async function buildBrowserBundle(): Promise<string> {
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    write: false,
    format: 'iife',
    globalName: 'WaitingRoom',
    platform: 'browser',
    target: ['es2020'],
    minify: true,
    legalComments: 'none',
    charset: 'utf8',
    banner: { js: `/*! @waiting-room/client ${VERSION} */` },
    logLevel: 'silent',
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error('esbuild produced no output');
  return file.text;
}

export function bundleSize(code: string): { bytes: number; gzipBytes: number } {
  const bytes = Buffer.byteLength(code);
  return { bytes, gzipBytes: gzipSync(code, { level: 9 }).length };
}

export function describeSize(code: string): string {
  const { bytes, gzipBytes } = bundleSize(code);
  const kb = (n: number) => `${(n / 1024).toFixed(2)} KB`;
  const verdict = gzipBytes <= BUNDLE_BUDGET_GZIP_BYTES ? 'within' : 'OVER';
  return `waiting-room.js: ${kb(bytes)} minified, ${kb(gzipBytes)} gzipped (${gzipBytes} B; ${verdict} the ${kb(BUNDLE_BUDGET_GZIP_BYTES)} budget)`;
}
