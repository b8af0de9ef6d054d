import { describe, expect, it } from 'vitest';
import { inspectorUrlOf } from './inspector.js';

describe('inspectorUrlOf', () => {
  it('reads the URL Node prints when the inspector opens, and nothing else', () => {
    expect(inspectorUrlOf('Debugger listening on ws://127.0.0.1:40123/1f2e3d4c-aaaa-bbbb-cccc-0123456789ab')).toBe(
      'ws://127.0.0.1:40123/1f2e3d4c-aaaa-bbbb-cccc-0123456789ab',
    );
    expect(inspectorUrlOf('For help, see: https://nodejs.org/en/docs/inspector')).toBeUndefined();
  });
});
