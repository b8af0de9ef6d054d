import { createRequire } from 'node:module';
import uWS from 'uWebSockets.js';

export type { HttpRequest, HttpResponse, TemplatedApp, WebSocket, us_listen_socket } from 'uWebSockets.js';
export { uWS };

/**
 * uWebSockets.js silently falls back to a slow JavaScript implementation when its native
 * binary does not load (wrong Node ABI, wrong libc). We refuse to run on the fallback.
 */
export function assertNativeUws(): void {
  const require = createRequire(import.meta.url);
  const loadedNative = Object.keys(require.cache).some((path) => /uws_[a-z0-9_]+\.node$/.test(path));
  if (!loadedNative) {
    throw new Error(
      'uWebSockets.js native binary did not load (unsupported platform or Node.js ABI ' +
        `${process.versions.modules}); refusing to run on the JavaScript fallback`,
    );
  }
}
