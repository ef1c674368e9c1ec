/**
 * On PostgreSQL the search planner's own plan must survive PostgreSQL's: every candidate test is
 * a sub-plan run per candidate (Dialect.probeFence), never a semi-join that hashes a whole index
 * table — at 1M resources that turned a 15 ms chain into 2.2 s. Resource ids and reference targets
 * share a collation, so that following a reference uses the resource's identity index.
 * PostgreSQL (PGlite, or the server at KILN_TEST_POSTGRES_URL).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSearch } from '../../src/search/parse.js';
import { pageQuery } from '../../src/search/sql/plan.js';
import { migrate } from '../../src/store/sql/schema.js';
import { rawDatabases } from '../support/stores.js';

const openPostgres = rawDatabases.find(([name]) => name === 'postgres')![1];

const QUERIES: Record<string, [string, [string, string][]]> = {
  chain: ['Observation', [['code', 'http://loinc.org|8867-4'], ['subject:Patient.name', 'smith']]],
  _has: ['Patient', [['name', 'smith'], ['_has:Observation:subject:code', 'http://loinc.org|8867-4']]],
  'code and date': ['Observation', [['code', 'http://loinc.org|8867-4'], ['date', 'ge2020']]],
};

test('PostgreSQL runs candidate tests as sub-plans and follows references through the identity index', async () => {
  const { db, cleanup } = await openPostgres();
  try {
    await migrate(db);
    for (const [name, [type, query]] of Object.entries(QUERIES)) {
      const { sql } = pageQuery({ tenant: '', search: parseSearch(query, type), textSearch: db.dialect.fullText, probeFence: db.dialect.probeFence, driver: 0 }, 21);
      const plan = (await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql.text}`, sql.params)).map((row) => row['QUERY PLAN']).join('\n');
      assert.match(plan, /SubPlan/, `${name}: candidate tests are sub-plans\n${plan}`);
      assert.doesNotMatch(plan, /Semi Join|Anti Join/, `${name}: no semi-join\n${plan}`);
      if (name === 'chain') assert.match(plan, /resource_identity/, `${name}: targets found by id\n${plan}`);
    }
  } finally {
    await cleanup();
  }
});

const openSqlite = rawDatabases.find(([name]) => name === 'sqlite')![1];

/**
 * A page whose candidates are costly to test (here `_has`, driven by a name that lists candidates
 * out of rkey order) streams: the candidates are sorted first, then tested in that order until
 * the page is full. Were the sort above the tests, every candidate would be tested.
 */
test('a streamed page sorts its candidates before it tests them, on both backends', async () => {
  const [type, query] = QUERIES._has;
  for (const open of [openSqlite, openPostgres]) {
    const { db, cleanup } = await open();
    try {
      await migrate(db);
      const { sql } = pageQuery({ tenant: '', search: parseSearch(query, type), textSearch: db.dialect.fullText, probeFence: db.dialect.probeFence, driver: 0, stream: true }, 21);
      if (db.dialect.name === 'sqlite') {
        const steps = await db.query<{ id: number; parent: number; detail: string }>(`EXPLAIN QUERY PLAN ${sql.text}`, sql.params);
        // The page is a step of its own (`p`), joined to the resources it found afterwards.
        const page = steps.find((step) => step.parent === 0 && /^(CO-ROUTINE|MATERIALIZE) p$/.test(step.detail));
        assert.ok(page, `sqlite: the page runs before the resources are read\n${steps.map((step) => step.detail).join('\n')}`);
        const outer = steps.filter((step) => step.parent === page.id).map((step) => step.detail);
        assert.ok(outer.some((detail) => detail.startsWith('SCAN d')), `sqlite: the sorted candidates are scanned\n${outer.join('\n')}`);
        assert.ok(!outer.some((detail) => /TEMP B-TREE FOR ORDER BY/.test(detail)), `sqlite: nothing is sorted after the tests\n${outer.join('\n')}`);
      } else {
        const plan = (await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql.text}`, sql.params)).map((row) => row['QUERY PLAN']);
        const filtered = plan.findIndex((line) => /Subquery Scan on d/.test(line));
        const firstSort = plan.findIndex((line) => /Sort/.test(line));
        assert.ok(filtered >= 0 && firstSort > filtered, `postgres: the sort is below the tests\n${plan.join('\n')}`);
      }
    } finally {
      await cleanup();
    }
  }
});

/**
 * On SQLite, a chain with few targets tests a candidate's references against the list of its
 * targets, built once: the reference index is searched by the candidate alone, not once per
 * target of the list.
 */
test('SQLite tests a chain with few targets against the list of them', async () => {
  const { db, cleanup } = await openSqlite();
  try {
    await migrate(db);
    const [type, query] = QUERIES.chain;
    const search = parseSearch(query, type);
    const chain = search.clauses.find(({ filter }) => filter.kind === 'chain')!.filter;
    const { sql } = pageQuery({ tenant: '', search, textSearch: db.dialect.fullText, probeFence: db.dialect.probeFence, driver: 0, fewTargets: new Set([chain]) }, 21);
    const steps = (await db.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql.text}`, sql.params)).map((step) => step.detail);
    assert.ok(steps.some((detail) => /LIST SUBQUERY/.test(detail)), `the targets are listed\n${steps.join('\n')}`);
    const lookup = steps.find((detail) => /search_reference_rkey/.test(detail));
    assert.ok(lookup && !/target_id=\?/.test(lookup), `references are found by candidate only\n${steps.join('\n')}`);
  } finally {
    await cleanup();
  }
});
