import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { BUNDLE_BUDGET_GZIP_BYTES, buildBrowserBundle, bundleSize } from '../build/bundle.js';

describe('browser bundle', () => {
  it('is one minified IIFE within the gzip budget that exposes window.WaitingRoom and defines the element', async () => {
    const code = await buildBrowserBundle();
    const { gzipBytes } = bundleSize(code);
    expect(gzipBytes).toBeLessThanOrEqual(BUNDLE_BUDGET_GZIP_BYTES);
    expect(code).not.toMatch(/^\s*(import|export)\s/m);

    // A page with custom elements (and nothing else of the DOM): the script runs, defines the
    // element and publishes the API on the global object.
    const defined = new Map<string, unknown>();
    const page: Record<string, unknown> = {
      HTMLElement: class {},
      customElements: { get: (name: string) => defined.get(name), define: (name: string, ctor: unknown) => defined.set(name, ctor) },
    };
    page.window = page;
    runInNewContext(code, page);
    const api = page.WaitingRoom as Record<string, unknown>;
    for (const name of ['createWaitingRoom', 'defineWaitingRoomElement', 'WaitingRoomPositionElement', 'isTransientClose', 'formatEta', 'CLOSE']) {
      expect(api[name], name).toBeDefined();
    }
    expect([...defined.keys()]).toEqual(['waiting-room-position']);
    expect((api.CLOSE as Record<string, number>).REPLACED).toBe(4409);

    // And without any DOM (a worker, a server-side render) it loads without throwing.
    const bare: Record<string, unknown> = {};
    runInNewContext(code, bare);
    expect(typeof (bare.WaitingRoom as Record<string, unknown>).createWaitingRoom).toBe('function');
  });
});
