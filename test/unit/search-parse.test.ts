import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FhirError } from '../../src/fhir/errors.js';
import {
  type ChainFilter,
  type HasFilter,
  type ParamFilter,
  type ParsedSearch,
  type SearchFilter,
  chainLinks,
  parseSearch,
} from '../../src/search/parse.js';
import { dateRange, decimalRange, normalizeText, numberRange, parseReference, splitEscaped } from '../../src/search/values.js';

const utc = (iso: string) => Date.parse(iso);

function parse(query: string, type: string | null = 'Observation', options = {}): ParsedSearch {
  const pairs = query
    .split('&')
    .filter(Boolean)
    .map((kv) => {
      const i = kv.indexOf('=');
      return [decodeURIComponent(kv.slice(0, i)), decodeURIComponent(kv.slice(i + 1))] as [string, string];
    });
  return parseSearch(pairs, type ?? undefined, options);
}

function only(search: ParsedSearch): SearchFilter {
  assert.equal(search.clauses.length, 1, JSON.stringify(search.unknown));
  return search.clauses[0].filter;
}

function leaf(filter: SearchFilter): ParamFilter {
  assert.equal(filter.kind, 'param');
  return filter as ParamFilter;
}

function rejects(fn: () => unknown, pattern: RegExp, code = 'invalid'): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof FhirError, String(error));
    assert.equal(error.status, 400);
    assert.match(error.message, pattern);
    assert.equal(error.issues[0].code, code);
    return true;
  });
}

describe('parseSearch: parameter values', () => {
  it('string: normalised; :exact and :contains kept as modifiers', () => {
    const f = leaf(only(parse('name=%C3%89ric', 'Patient')));
    assert.deepEqual(f.values, [{ type: 'string', value: 'Éric', norm: 'eric' }]);
    assert.equal(leaf(only(parse('name:exact=Eric', 'Patient'))).modifier, 'exact');
    assert.equal(leaf(only(parse('family:contains=ric', 'Patient'))).modifier, 'contains');
  });

  it('token: code, system|code, |code, system|', () => {
    const f = leaf(only(parse('code=1234-5,http://loinc.org|1234-5,|abc,http://loinc.org|')));
    assert.deepEqual(f.values, [
      { type: 'token', code: '1234-5' },
      { type: 'token', system: 'http://loinc.org', code: '1234-5' },
      { type: 'token', system: null, code: 'abc' },
      { type: 'token', system: 'http://loinc.org' },
    ]);
  });

  it('token modifiers: :not, :text, :of-type', () => {
    assert.equal(leaf(only(parse('status:not=final'))).modifier, 'not');
    assert.deepEqual(leaf(only(parse('code:text=Glucosé'))).values, [{ type: 'token', text: 'glucose' }]);
    assert.deepEqual(leaf(only(parse('identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|12345', 'Patient'))).values, [
      { type: 'token', typeSystem: 'http://terminology.hl7.org/CodeSystem/v2-0203', typeCode: 'MR', code: '12345' },
    ]);
    rejects(() => parse('identifier:of-type=MR|12345', 'Patient'), /Invalid :of-type value 'MR\|12345' for search parameter 'identifier:of-type'/);
  });

  it('token :in, :not-in, :above, :below are not supported (400)', () => {
    for (const m of ['in', 'not-in', 'above', 'below']) {
      rejects(() => parse(`code:${m}=http://example.org/vs`), new RegExp(`Modifier ':${m}' is not supported`), 'not-supported');
    }
  });

  it('unknown modifiers are a 400', () => {
    rejects(() => parse('code:bogus=x'), /Unknown modifier ':bogus'/);
    rejects(() => parse('birthdate:exact=2020', 'Patient'), /Unknown modifier ':exact'/);
  });

  it('date: prefix and the range of the precision given', () => {
    const f = leaf(only(parse('birthdate=ge1970-03', 'Patient')));
    assert.deepEqual(f.values, [{ type: 'date', prefix: 'ge', raw: 'ge1970-03', low: utc('1970-03-01T00:00:00Z'), high: utc('1970-03-31T23:59:59.999Z') }]);
    const t = leaf(only(parse('date=lt2020-01-01T10:00:00%2B02:00'))).values[0];
    assert.deepEqual(t, { type: 'date', prefix: 'lt', raw: 'lt2020-01-01T10:00:00+02:00', low: utc('2020-01-01T08:00:00Z'), high: utc('2020-01-01T08:00:00.999Z') });
    // an unencoded '+' arrives as a space
    const s = leaf(only(parseSearch([['date', '2020-01-01T10:00:00 02:00']], 'Observation'))).values[0];
    assert.equal((s as { low: number }).low, utc('2020-01-01T08:00:00Z'));
  });

  it('a bad date or prefix is a 400 naming the parameter', () => {
    rejects(() => parse('birthdate=abc', 'Patient'), /^Invalid date value 'abc' for search parameter 'birthdate'$/);
    rejects(() => parse('birthdate=2020-13', 'Patient'), /Invalid date value '2020-13' for search parameter 'birthdate'/);
    rejects(() => parse('birthdate=2021-02-29', 'Patient'), /Invalid date value/);
    rejects(() => parse('birthdate=xx2020', 'Patient'), /Invalid date value 'xx2020'/);
    rejects(() => parse('value-quantity=zz5'), /Invalid quantity value 'zz5' for search parameter 'value-quantity'/);
    const error = (() => {
      try {
        parse('birthdate=abc', 'Patient');
      } catch (e) {
        return e as FhirError;
      }
    })();
    assert.deepEqual(error?.issues[0].expression, ['birthdate']);
  });

  it('number: prefix and precision range', () => {
    const f = leaf(only(parse('probability=gt0.8,100', 'RiskAssessment')));
    assert.deepEqual(f.values, [
      { type: 'number', prefix: 'gt', raw: 'gt0.8', value: 0.8, low: 0.75, high: 0.85 },
      { type: 'number', prefix: 'eq', raw: '100', value: 100, low: 99.5, high: 100.5 },
    ]);
    rejects(() => parse('probability=0.8x', 'RiskAssessment'), /Invalid number value '0.8x' for search parameter 'probability'/);
  });

  it('quantity: value|system|code and value||code', () => {
    const f = leaf(only(parse('value-quantity=le5.4|http://unitsofmeasure.org|mg,5.40||mg,5')));
    assert.deepEqual(f.values, [
      { type: 'quantity', prefix: 'le', raw: 'le5.4|http://unitsofmeasure.org|mg', value: 5.4, low: 5.35, high: 5.45, system: 'http://unitsofmeasure.org', code: 'mg' },
      { type: 'quantity', prefix: 'eq', raw: '5.40||mg', value: 5.4, low: 5.395, high: 5.405, code: 'mg' },
      { type: 'quantity', prefix: 'eq', raw: '5', value: 5, low: 4.5, high: 5.5 },
    ]);
    rejects(() => parse('value-quantity=5|mg'), /Invalid quantity value '5\|mg'/);
  });

  it('reference: Type/id, bare id, :Type, absolute URL on this server, remote URL, :identifier', () => {
    const opts = { baseUrls: ['https://kiln.example/fhir'] };
    const f = leaf(only(parse('subject=Patient/1,2,https://kiln.example/fhir/Patient/3,http://other.org/fhir/Patient/4,Patient/5/_history/2', 'Observation', opts)));
    assert.deepEqual(f.values, [
      { type: 'reference', targetType: 'Patient', id: '1' },
      { type: 'reference', id: '2' },
      { type: 'reference', targetType: 'Patient', id: '3' },
      { type: 'reference', url: 'http://other.org/fhir/Patient/4' },
      { type: 'reference', targetType: 'Patient', id: '5', version: '2' },
    ]);
    assert.deepEqual(leaf(only(parse('subject:Patient=7'))).values, [{ type: 'reference', targetType: 'Patient', id: '7' }]);
    assert.deepEqual(leaf(only(parse('subject:identifier=urn:mrn|123'))).values, [{ type: 'reference', identifier: { system: 'urn:mrn', value: '123' } }]);
    rejects(() => parse('subject:Medication=7'), /'Medication' is not a valid target type for search parameter 'subject'/);
    rejects(() => parse('subject=Nope/1'), /Invalid reference value 'Nope\/1'/);
    rejects(() => parse('subject=Medication/1'), /Invalid reference value 'Medication\/1'.*not a target/);
    rejects(() => parse('subject:Patient=Group/1'), /Invalid reference value 'Group\/1'.*not a Patient/);
  });

  it('uri with :below / :above', () => {
    const f = leaf(only(parse('url:below=http://example.org/fhir/', 'ValueSet')));
    assert.equal(f.modifier, 'below');
    assert.deepEqual(f.values, [{ type: 'uri', value: 'http://example.org/fhir/' }]);
  });

  it('composite: components typed by their parameters', () => {
    const f = leaf(only(parse('code-value-quantity=http://loinc.org|8480-6$gt140||mm[Hg]')));
    assert.deepEqual(f.values, [
      {
        type: 'composite',
        components: [
          { type: 'token', system: 'http://loinc.org', code: '8480-6' },
          { type: 'quantity', prefix: 'gt', raw: 'gt140||mm[Hg]', value: 140, low: 139.5, high: 140.5, code: 'mm[Hg]' },
        ],
      },
    ]);
    rejects(() => parse('code-value-quantity=8480-6'), /Invalid composite value '8480-6'.*expected 2 parts/);
    rejects(() => parse('code-value-quantity=a$1,b$2'), /does not allow several values/);
  });

  it(':missing on every type, true or false only', () => {
    for (const name of ['name', 'birthdate', 'gender', 'organization', 'general-practitioner']) {
      assert.deepEqual(leaf(only(parse(`${name}:missing=true`, 'Patient'))).values, [{ type: 'missing', missing: true }]);
    }
    assert.deepEqual(leaf(only(parse('value-quantity:missing=false'))).values, [{ type: 'missing', missing: false }]);
    rejects(() => parse('name:missing=yes', 'Patient'), /Invalid :missing value 'yes'/);
  });

  it('comma is OR (with \\, escapes), repetition is AND', () => {
    const s = parse('code=a\\,b,c&code=d');
    assert.equal(s.clauses.length, 2);
    assert.deepEqual(leaf(s.clauses[0].filter).values.map((v) => (v as { code: string }).code), ['a,b', 'c']);
    assert.deepEqual(leaf(s.clauses[1].filter).values.map((v) => (v as { code: string }).code), ['d']);
  });

  it('empty values are ignored', () => {
    assert.equal(parse('name=&gender=male', 'Patient').clauses.length, 1);
  });

  it('common parameters: _id, _lastUpdated, _tag, _profile, _security, _source, _text, _content', () => {
    const s = parse('_id=a,b&_lastUpdated=gt2024-01-01&_tag=http://t|x&_profile=http://p&_security=http://s|R&_source=http://src&_text=cough&_content=fever', 'Patient');
    assert.deepEqual(
      s.clauses.map((c) => [c.name, leaf(c.filter).param.type, leaf(c.filter).values[0].type]),
      [
        ['_id', 'token', 'token'],
        ['_lastUpdated', 'date', 'date'],
        ['_tag', 'token', 'token'],
        ['_profile', 'uri', 'uri'],
        ['_security', 'token', 'token'],
        ['_source', 'uri', 'uri'],
        ['_text', 'string', 'string'],
        ['_content', 'string', 'string'],
      ],
    );
    assert.deepEqual(leaf(s.clauses[0].filter).values, [
      { type: 'token', code: 'a' },
      { type: 'token', code: 'b' },
    ]);
  });
});

describe('parseSearch: chains and _has', () => {
  it('chains to any depth with type modifiers', () => {
    const f = only(parse('subject:Patient.organization.name=Acme'));
    assert.deepEqual(chainLinks(f), [
      { param: 'subject', targetType: 'Patient' },
      { param: 'organization', targetType: 'Organization' },
    ]);
    const inner = ((f as ChainFilter).targets[0].filter as ChainFilter).targets[0].filter as ParamFilter;
    assert.equal(inner.resourceType, 'Organization');
    assert.equal(inner.param.code, 'name');
    assert.deepEqual(inner.values, [{ type: 'string', value: 'Acme', norm: 'acme' }]);
  });

  it('an untyped chain fans out to the targets that have the parameter', () => {
    const f = only(parse('subject.name=peter')) as ChainFilter;
    assert.deepEqual(f.targets.map((t) => t.targetType).sort(), ['Location', 'Patient']);
  });

  it('modifiers apply to the last link', () => {
    const f = only(parse('subject:Patient.name:exact=Peter')) as ChainFilter;
    assert.equal((f.targets[0].filter as ParamFilter).modifier, 'exact');
  });

  it('chaining errors', () => {
    rejects(() => parse('status.name=x'), /'status' is not a reference and cannot be chained/);
    assert.deepEqual(parse('subject:Patient.nope=x').unknown.map((u) => u.name), ['subject:Patient.nope']);
  });

  it('_has, nested', () => {
    const f = only(parse('_has:Observation:patient:code=1234-5', 'Patient')) as HasFilter;
    assert.equal(f.kind, 'has');
    assert.equal(f.resourceType, 'Patient');
    assert.equal(f.sourceType, 'Observation');
    assert.equal(f.referenceParam.code, 'patient');
    assert.deepEqual((f.filter as ParamFilter).values, [{ type: 'token', code: '1234-5' }]);

    const nested = only(parse('_has:Observation:patient:_has:Provenance:target:agent=Practitioner/1', 'Patient')) as HasFilter;
    const inner = nested.filter as HasFilter;
    assert.equal(inner.kind, 'has');
    assert.equal(inner.resourceType, 'Observation');
    assert.equal(inner.sourceType, 'Provenance');
    assert.deepEqual((inner.filter as ParamFilter).values, [{ type: 'reference', targetType: 'Practitioner', id: '1' }]);

    const chained = only(parse('subject:Patient._has:Condition:patient:code=44054006')) as ChainFilter;
    assert.equal(chained.targets[0].filter.kind, 'has');
    assert.equal((chained.targets[0].filter as HasFilter).sourceType, 'Condition');

    const modified = only(parse('_has:Observation:patient:code:text=glucose', 'Patient')) as HasFilter;
    assert.equal((modified.filter as ParamFilter).modifier, 'text');
  });

  it('_has errors', () => {
    rejects(() => parse('_has:Observation:code:code=1', 'Patient'), /'code' is not a reference search parameter of Observation/);
    rejects(() => parse('_has:Nope:patient:code=1', 'Patient'), /Unknown resource type 'Nope'/);
    rejects(() => parse('_has:Observation:patient=1', 'Patient'), /Invalid _has parameter/);
    rejects(() => parse('_has:Observation:patient:code=1', 'Organization'), /Observation.patient cannot refer to Organization/);
  });
});

describe('parseSearch: result parameters', () => {
  it('_sort on several keys, _count, _offset, _total, _summary, _elements', () => {
    const s = parse('_sort=-date,code,_lastUpdated&_count=20&_offset=40&_total=accurate&_summary=count&_elements=status,code');
    assert.deepEqual(s.sort.map((k) => [k.code, k.descending]), [
      ['date', true],
      ['code', false],
      ['_lastUpdated', false],
    ]);
    assert.equal(s.count, 20);
    assert.equal(s.offset, 40);
    assert.equal(s.total, 'accurate');
    assert.equal(s.summary, 'count');
    assert.deepEqual(s.elements, ['status', 'code']);
  });

  it('malformed result parameters are a 400', () => {
    rejects(() => parse('_count=-1'), /Invalid value '-1' for search parameter '_count'/);
    rejects(() => parse('_total=all'), /Invalid value 'all' for search parameter '_total'/);
    rejects(() => parse('_summary=yes'), /Invalid value 'yes' for search parameter '_summary'/);
    rejects(() => parse('_include=Observation'), /Invalid value 'Observation' for '_include'/);
    rejects(() => parse('_include:deep=Observation:subject'), /Unknown modifier ':deep'/);
  });

  it('_include and _revinclude with :iterate and *', () => {
    const s = parse('_include=Observation:subject:Patient&_include:iterate=Patient:organization&_include=*&_revinclude=Provenance:target');
    assert.deepEqual(
      s.include.map((i) => [i.sourceType, i.code, i.targetType, i.iterate, i.param?.type]),
      [
        ['Observation', 'subject', 'Patient', false, 'reference'],
        ['Patient', 'organization', undefined, true, 'reference'],
        ['*', '*', undefined, false, undefined],
      ],
    );
    assert.deepEqual(s.revinclude.map((i) => [i.sourceType, i.code]), [['Provenance', 'target']]);
    assert.deepEqual(parse('_include=Observation:status').unknown.map((u) => u.name), ['_include=Observation:status']);
  });

  it('unknown sort keys are reported, not fatal', () => {
    const s = parse('_sort=nope,date');
    assert.deepEqual(s.sort.map((k) => k.code), ['date']);
    assert.deepEqual(s.unknown.map((u) => u.name), ['_sort=nope']);
  });
});

describe('parseSearch: unknown parameters and system-level search', () => {
  it('lenient by default: unknown and unsupported parameters are reported', () => {
    const s = parse('foo=1&_filter=x&near=1|2|3|km&status=final', 'Location');
    assert.equal(s.clauses.length, 1);
    assert.deepEqual(s.unknown.map((u) => u.name), ['foo', '_filter', 'near']);
    assert.match(s.unknown[0].reason, /Unknown search parameter 'foo'/);
  });

  it('strict: unknown parameters are a 400', () => {
    rejects(() => parse('foo=1', 'Patient', { strict: true }), /Unknown search parameter 'foo'/, 'not-supported');
    assert.equal(parse('name=x', 'Patient', { strict: true }).clauses.length, 1);
  });

  it('_format and _pretty are left to the server', () => {
    assert.deepEqual(parse('_format=json&_pretty=true', 'Patient', { strict: true }).unknown, []);
  });

  it('system level: common parameters, or those shared by every _type', () => {
    const s = parse('_lastUpdated=gt2020&name=x', null);
    assert.deepEqual(s.types, []);
    assert.deepEqual(s.clauses.map((c) => c.name), ['_lastUpdated']);
    assert.deepEqual(s.unknown.map((u) => u.name), ['name']);
    const typed = parse('_type=Patient,Practitioner&name=x&gender=male', null);
    assert.deepEqual(typed.types, ['Patient', 'Practitioner']);
    assert.deepEqual(typed.clauses.map((c) => c.name), ['name', 'gender']);
    rejects(() => parse('_type=Patient,Nope', null), /Invalid resource type 'Nope' for search parameter '_type'/);
  });

  it('an unknown resource type is a 400', () => {
    rejects(() => parse('name=x', 'Nope'), /Unknown resource type 'Nope'/);
  });
});

describe('value helpers', () => {
  it('dateRange covers the precision given', () => {
    assert.deepEqual(dateRange('2020'), { low: utc('2020-01-01T00:00:00Z'), high: utc('2020-12-31T23:59:59.999Z') });
    assert.deepEqual(dateRange('2020-02'), { low: utc('2020-02-01T00:00:00Z'), high: utc('2020-02-29T23:59:59.999Z') });
    assert.deepEqual(dateRange('2020-02-29'), { low: utc('2020-02-29T00:00:00Z'), high: utc('2020-02-29T23:59:59.999Z') });
    assert.deepEqual(dateRange('2020-02-29T10:15Z'), { low: utc('2020-02-29T10:15:00Z'), high: utc('2020-02-29T10:15:59.999Z') });
    assert.deepEqual(dateRange('2020-02-29T10:15:30.1Z'), { low: utc('2020-02-29T10:15:30.100Z'), high: utc('2020-02-29T10:15:30.199Z') });
    assert.deepEqual(dateRange('2020-02-29T10:15:30.123-05:00'), { low: utc('2020-02-29T15:15:30.123Z'), high: utc('2020-02-29T15:15:30.123Z') });
    assert.equal(new Date(dateRange('0050-01-01')!.low).getUTCFullYear(), 50);
    for (const bad of ['2019-02-29', '2020-00', '2020-1', '20201', '2020-01-01T25:00Z', 'abc', '']) assert.equal(dateRange(bad), undefined, bad);
  });

  it('decimalRange and numberRange use significant digits', () => {
    assert.deepEqual(decimalRange('100'), { value: 100, low: 99.5, high: 100.5 });
    assert.deepEqual(decimalRange('100.00'), { value: 100, low: 99.995, high: 100.005 });
    assert.deepEqual(decimalRange('1e2'), { value: 100, low: 50, high: 150 });
    assert.deepEqual(decimalRange('-0.5'), { value: -0.5, low: -0.55, high: -0.45 });
    assert.equal(decimalRange('1.2.3'), undefined);
    assert.deepEqual(numberRange(5.4), { value: 5.4, low: 5.35, high: 5.45 });
  });

  it('normalizeText strips accents and case', () => {
    assert.equal(normalizeText('Éric Ångström'), 'eric angstrom');
    assert.equal(normalizeText('plain'), 'plain');
  });

  it('splitEscaped honours backslash escapes', () => {
    assert.deepEqual(splitEscaped('a\\|b|c\\\\', '|'), ['a|b', 'c\\']);
  });

  it('parseReference', () => {
    assert.deepEqual(parseReference('Patient/1/_history/3'), { type: 'Patient', id: '1', version: '3', url: null });
    assert.deepEqual(parseReference('https://a.org/fhir/Patient/1', ['https://a.org/fhir']), { type: 'Patient', id: '1', version: null, url: null });
    assert.deepEqual(parseReference('urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0'), { type: null, id: null, version: null, url: 'urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0' });
    assert.equal(parseReference('#contained'), undefined);
  });
});
