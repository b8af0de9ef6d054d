import { BUNDLE_BUDGET_GZIP_BYTES, buildBrowserBundle, bundleSize, describeSize } from './bundle.js';

/** `npm run size -w client-sdk`: the browser bundle's gzip size; fails when over budget. */
const code = await buildBrowserBundle();
process.stdout.write(`${describeSize(code)}\n`);
if (bundleSize(code).gzipBytes > BUNDLE_BUDGET_GZIP_BYTES) process.exit(1);
