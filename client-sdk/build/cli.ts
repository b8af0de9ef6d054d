import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { buildBrowserBundle, describeSize } from './bundle.js';

/** `npm run build -w client-sdk`: ESM + .d.ts (tsc) and the browser bundle (esbuild) into dist/. */

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = fileURLToPath(new URL('../dist/', import.meta.url));

rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const compiled = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (compiled.status !== 0) process.exit(compiled.status ?? 1);

const code = await buildBrowserBundle();
mkdirSync(dist, { recursive: true });
writeFileSync(`${dist}waiting-room.js`, code);
process.stdout.write(`dist/: ESM + .d.ts\n${describeSize(code)}\n`);
