#!/usr/bin/env node
import { existsSync } from 'node:fs';

// The bundle (scripts/build-bundle.mjs) starts faster; dist/cli/main.js is the same code unbundled.
const bundled = new URL('../dist/bundle/main.js', import.meta.url);
const compiled = new URL('../dist/cli/main.js', import.meta.url);
const entry = process.env.KILN_UNBUNDLED !== '1' && existsSync(bundled) ? bundled : compiled;
if (!existsSync(entry)) {
  process.stderr.write('kiln: dist/ is missing; run `npm run build` (npm install does it) first\n');
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
