// Custom SearchParameters with `kiln serve` and `kiln reindex` as users run them (bin/kiln.js and
// the bundle of `npm run build`): bad definitions stop start-up with one clear line; changed
// definitions rebuild the index before serving.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { freePort, spawnBuiltKiln, waitForHttp } from '../support/process.js';
import { EYE, eyeColour } from '../support/eye-colour.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-cli-sp-'));
  dirs.push(dir);
  return dir;
}
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));


function write(dir: string, name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(content));
  return path;
}

test('a bad definition file stops start-up with one line naming the file and the problem', async () => {
  const dir = tempDir();
  const badBase = write(dir, 'bad-base.json', { ...eyeColour, base: ['Patien'] });
  const kiln = spawnBuiltKiln(['serve', '--port', '0', '--data-dir', dir, '--search-parameters', badBase]);
  assert.equal(await kiln.exited, 1);
  assert.equal(kiln.output(), `kiln: cannot start: Search parameter file ${badBase}: SearchParameter 'eye-colour' (${eyeColour.url}): unknown base type "Patien"\n`);

  const badExpression = write(dir, 'bad-expression.json', { resourceType: 'Bundle', type: 'collection', entry: [{ resource: { ...eyeColour, expression: 'Patient.extension.where(url=' } }] });
  const second = spawnBuiltKiln(['serve', '--port', '0', '--data-dir', dir], { KILN_SEARCH_PARAMETERS: badExpression });
  assert.equal(await second.exited, 1);
  assert.match(second.output(), new RegExp(`^kiln: cannot start: Search parameter file ${badExpression}, entry 1: SearchParameter 'eye-colour' .*: expression 'Patient.extension.where\\(url=' does not compile for Patient: .+\\n$`));

  const special = write(dir, 'special.json', { ...eyeColour, type: 'special' });
  const third = spawnBuiltKiln(['serve', '--port', '0', '--data-dir', dir, '--search-parameters', special]);
  assert.equal(await third.exited, 1);
  assert.match(third.output(), /^kiln: cannot start: .*special\.json: SearchParameter 'eye-colour' .*: type 'special' is not supported/);
  assert.doesNotMatch(third.output(), /\n\s+at /, 'no stack trace');
});

async function serve(dataDir: string, args: string[] = []) {
  const port = await freePort();
  const kiln = spawnBuiltKiln(['serve', '--port', String(port), '--data-dir', dataDir, ...args]);
  const base = `http://127.0.0.1:${port}`;
  await waitForHttp(`${base}/metadata`);
  return {
    base,
    output: kiln.output,
    async stop() {
      kiln.child.kill('SIGTERM');
      assert.equal(await kiln.exited, 0);
    },
  };
}

/** The codes of Patient's search parameters in the server's CapabilityStatement. */
async function patientParams(base: string): Promise<string[]> {
  const statement = (await (await fetch(`${base}/metadata`)).json()) as { rest: { resource: { type: string; searchParam: { name: string }[] }[] }[] };
  return statement.rest[0].resource.find((r) => r.type === 'Patient')!.searchParam.map((p) => p.name);
}

async function eyeSearch(base: string, colour: string): Promise<number> {
  const bundle = (await (await fetch(`${base}/Patient?eye-colour=${colour}&_total=accurate`)).json()) as { total: number };
  return bundle.total;
}

test('changed definitions rebuild the index at start-up (logged); kiln reindex rebuilds on demand', async () => {
  const dataDir = tempDir();
  const definitions = write(dataDir, 'eye.json', eyeColour);

  const first = await serve(dataDir);
  assert.ok((await patientParams(first.base)).includes('name'));
  assert.ok(!(await patientParams(first.base)).includes('eye-colour'), 'the R4 set only');
  for (const colour of ['brown', 'Brown', 'grey']) {
    const res = await fetch(`${first.base}/Patient`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify({ resourceType: 'Patient', extension: [{ url: EYE, valueString: colour }] }) });
    assert.equal(res.status, 201);
  }
  await first.stop();

  const second = await serve(dataDir, ['--search-parameters', definitions]);
  assert.ok((await patientParams(second.base)).includes('eye-colour'), 'the custom parameter is listed in the CapabilityStatement');
  assert.equal(await eyeSearch(second.base, 'brown'), 2);
  assert.match(second.output(), /The search parameters changed: rebuilding the search index of 3 resources before serving/);
  assert.match(second.output(), /Search index rebuilt for the current search parameters: 3 resources read, 3 re-indexed/);
  await second.stop();

  const reindex = spawnBuiltKiln(['reindex', '--data-dir', dataDir, '--search-parameters', definitions]);
  assert.equal(await reindex.exited, 0);
  assert.match(reindex.output(), new RegExp(`^kiln reindex: SQLite in ${dataDir}: 3 resources read, 0 re-indexed, in \\d+\\.\\d s \\(\\d+ resources/s\\)\\n$`));

  const third = await serve(dataDir, ['--search-parameters', definitions]);
  assert.equal(await eyeSearch(third.base, 'grey'), 1);
  assert.doesNotMatch(third.output(), /rebuild/, 'the index was current: nothing to rebuild');
  await third.stop();
});
