#!/usr/bin/env node
// Bundles the CLI (dist/cli/main.js, its dist/ modules and most dependencies) into dist/bundle/:
// main.js, plus a chunk per part loaded on demand (PostgreSQL, token verification, other
// commands). bin/kiln.js loads it when present: resolving, reading and linking ~120 ES modules
// and ~250 CommonJS files cost about a third of `kiln serve`'s start-up.
// Runs after tsc as part of `npm run build`; the library API (dist/index.js) is not bundled.
import { readFile, rm } from 'node:fs/promises';
import { relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const dist = resolve(process.argv[2] ?? fileURLToPath(new URL('../dist', import.meta.url)));
const outdir = resolve(dist, 'bundle');

// Loaded from node_modules at run time: native code (better-sqlite3), packages that find files of
// their own by path (pino's transport workers, PGlite's WebAssembly), optional and on-demand ones
// (pg, the rate limiter), and Fastify's schema compilers, which Kiln never loads. The bundle
// resolves them from its own place, so each one it loads must be a dependency of Kiln's (pino is
// one for that reason alone).
const external = ['better-sqlite3', 'pino', 'pino-pretty', 'pg', '@electric-sql/pglite', '@fastify/rate-limit', '@fastify/ajv-compiler', '@fastify/fast-json-stringify-compiler'];

/**
 * Modules of dist/ find files beside them (generated validators, package.json, schemas) and
 * packages (createRequire) through import.meta.url; in the bundle each keeps its own URL, as the
 * URL of the output file (all of them are in one directory) plus the relative path to the module
 * it came from.
 */
const ownUrls = {
  name: 'dist-module-urls',
  setup(builder) {
    builder.onLoad({ filter: /\.js$/ }, async (args) => {
      if (!args.path.startsWith(dist + sep)) return undefined;
      const source = await readFile(args.path, 'utf8');
      if (!source.includes('import.meta.url')) return { contents: source, loader: 'js' };
      let path = relative(outdir, args.path).split(sep).join('/');
      if (!path.startsWith('.')) path = `./${path}`;
      return { contents: source.replaceAll('import.meta.url', `new URL(${JSON.stringify(path)}, import.meta.url).href`), loader: 'js' };
    });
  },
};

const started = performance.now();
await rm(outdir, { recursive: true, force: true });
const result = await build({
  entryPoints: [resolve(dist, 'cli/main.js')],
  outdir,
  bundle: true,
  splitting: true,
  chunkNames: 'chunk-[hash]',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external,
  plugins: [ownUrls],
  // CommonJS dependencies call require() for Node's built-ins and the external packages.
  // (in every output file: each chunk is a module of its own)
  banner: { js: "import { createRequire as __kilnCreateRequire } from 'node:module';\nconst require = __kilnCreateRequire(import.meta.url);" },
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
  metafile: true,
});
// What the bundle holds, for https://esbuild.github.io/analyze/ or a script of your own.
if (process.env.KILN_BUNDLE_META) (await import('node:fs')).writeFileSync(process.env.KILN_BUNDLE_META, JSON.stringify(result.metafile));
const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
const files = Object.keys(result.metafile.outputs).filter((file) => file.endsWith('.js')).length;
console.log(`CLI bundle: ${Object.keys(result.metafile.inputs).length} modules in ${files} files, ${(bytes / 1e6).toFixed(1)} MB with source maps, in ${Math.round(performance.now() - started)} ms -> ${outdir}`);
