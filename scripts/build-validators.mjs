#!/usr/bin/env node
// Generates ajv standalone validators for every FHIR resource type, so that a built server
// neither compiles the FHIR JSON schema nor loads ajv (see src/validation/compiled.ts).
// Runs after tsc as part of `npm run build`; takes the compiled modules from dist/ (or another
// directory given as the first argument).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dist = resolve(process.argv[2] ?? fileURLToPath(new URL('../dist', import.meta.url)));
const { generateStandaloneSource, generatedModulePath } = await import(pathToFileURL(`${dist}/validation/compiled.js`).href);

for (const version of ['4.0.1', '3.0.2']) {
  const started = performance.now();
  const source = generateStandaloneSource(version);
  const path = generatedModulePath(version);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, source);
  const ms = Math.round(performance.now() - started);
  console.log(`validators for FHIR ${version}: ${(source.length / 1e6).toFixed(1)} MB in ${ms} ms -> ${path}`);
}
