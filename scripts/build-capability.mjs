#!/usr/bin/env node
// Prebuilds the CapabilityStatement's search section for HL7's R4 search parameters, so that the
// first GET /metadata builds neither the parameter registry nor the section
// (see src/interactions/capability-prebuilt.ts). Runs after tsc as part of `npm run build`.
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dist = resolve(process.argv[2] ?? fileURLToPath(new URL('../dist', import.meta.url)));
const load = (path) => import(pathToFileURL(`${dist}/${path}`).href);
const { defaultParameterSet } = await load('search/parameter-set.js');
const { searchSection } = await load('interactions/capability-search.js');
const { writePrebuiltSearchSection, PREBUILT_PATH } = await load('interactions/capability-prebuilt.js');

const started = performance.now();
const set = defaultParameterSet();
writePrebuiltSearchSection(set.fingerprint, searchSection(set.registry));
console.log(`CapabilityStatement search section for the R4 parameters in ${Math.round(performance.now() - started)} ms -> ${PREBUILT_PATH}`);
