import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Resource } from '../../src/fhir/types.js';
import { extractIndex, narrativeText, planFor } from '../../src/search/extract.js';
import { compilePath } from '../../src/search/path.js';
import { defaultRegistry } from '../../src/search/parameters.js';
import { DATE_MAX, DATE_MIN, normalizeText, textWords } from '../../src/search/values.js';

const utc = (iso: string) => Date.parse(iso);
const rowsOf = <T extends { param: string }>(rows: T[], param: string) => rows.filter((r) => r.param === param);

const observation: Resource = {
  resourceType: 'Observation',
  id: 'o1',
  meta: { lastUpdated: '2024-01-01T00:00:00.000Z', tag: [{ system: 'http://example.org/tags', code: 't1' }], profile: ['http://hl7.org/fhir/StructureDefinition/vitalsigns'], source: 'http://example.org/app' },
  text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><p>Glucose &amp; <b>more</b></p></div>' },
  status: 'final',
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
  code: { coding: [{ system: 'http://loinc.org', code: '15074-8', display: 'Glucose' }], text: 'Blood glucose' },
  subject: { reference: 'Patient/p1' },
  performer: [{ reference: 'https://kiln.example/fhir/Practitioner/pr1' }, { reference: 'https://elsewhere.example/fhir/Organization/x' }],
  effectiveDateTime: '2013-04-02T09:30:10+01:00',
  valueQuantity: { value: 5.4, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' },
};

describe('extractIndex: Observation', () => {
  const rows = extractIndex(observation, { baseUrls: ['https://kiln.example/fhir'] });

  it('indexes valueQuantity with its precision range', () => {
    const [q] = rowsOf(rows.quantity, 'value-quantity');
    assert.deepEqual(q, { param: 'value-quantity', value: 5.4, low: 5.35, high: 5.45, system: 'http://unitsofmeasure.org', code: 'mg', unit: 'mg' });
    assert.equal(rowsOf(rows.quantity, 'combo-value-quantity').length, 1);
  });

  it('indexes CodeableConcept codings and text', () => {
    assert.deepEqual(rowsOf(rows.token, 'code'), [
      { param: 'code', system: 'http://loinc.org', code: '15074-8', text: 'glucose', typeSystem: null, typeCode: null },
      { param: 'code', system: null, code: null, text: 'blood glucose', typeSystem: null, typeCode: null },
    ]);
    assert.deepEqual(rowsOf(rows.token, 'status').map((r) => [r.system, r.code]), [[null, 'final']]);
  });

  it('stores a CodeableConcept text no row of its own when a coding display reads the same', () => {
    const sameText = { ...observation, code: { coding: [{ system: 'http://loinc.org', code: '8302-2', display: 'Body Height' }], text: 'Body height' } };
    assert.deepEqual(
      rowsOf(extractIndex(sameText).token, 'code').map((r) => [r.system, r.code, r.text]),
      [['http://loinc.org', '8302-2', 'body height']],
    );
    const textOnly = { ...observation, code: { text: 'Something measured' } };
    assert.deepEqual(rowsOf(extractIndex(textOnly).token, 'code').map((r) => [r.system, r.code, r.text]), [[null, null, 'something measured']]);
    // The composite keeps its row (`code-value-quantity:missing` answers as before), though no value can match its NULL cells.
    assert.equal(rowsOf(extractIndex(textOnly).composite, 'code-value-quantity').length, 1);
  });

  it('indexes subject as subject and (being a Patient) as patient', () => {
    const expected = { targetType: 'Patient', targetId: 'p1', targetVersion: null, url: null, identifierSystem: null, identifierValue: null };
    assert.deepEqual(rowsOf(rows.reference, 'subject'), [{ param: 'subject', ...expected }]);
    assert.deepEqual(rowsOf(rows.reference, 'patient'), [{ param: 'patient', ...expected }]);
  });

  it('makes references to this server relative and keeps others absolute', () => {
    const performers = rowsOf(rows.reference, 'performer');
    assert.deepEqual(performers.map((r) => [r.targetType, r.targetId, r.url]), [
      ['Practitioner', 'pr1', null],
      ['Organization', null, 'https://elsewhere.example/fhir/Organization/x'],
    ]);
  });

  it('indexes effective dateTime as a one-second range in UTC', () => {
    assert.deepEqual(rowsOf(rows.date, 'date'), [{ param: 'date', low: utc('2013-04-02T08:30:10.000Z'), high: utc('2013-04-02T08:30:10.999Z') }]);
  });

  it('indexes meta: _tag, _profile, _source (not _id/_lastUpdated, which are columns)', () => {
    assert.deepEqual(rowsOf(rows.token, '_tag').map((r) => [r.system, r.code]), [['http://example.org/tags', 't1']]);
    assert.deepEqual(rowsOf(rows.uri, '_profile').map((r) => r.value), ['http://hl7.org/fhir/StructureDefinition/vitalsigns']);
    assert.deepEqual(rowsOf(rows.uri, '_source').map((r) => r.value), ['http://example.org/app']);
    assert.equal(rowsOf(rows.token, '_id').length, 0);
    assert.equal(rowsOf(rows.date, '_lastUpdated').length, 0);
  });

  it('builds composite rows pairing code and value', () => {
    const [cvq] = rowsOf(rows.composite, 'code-value-quantity');
    assert.equal(cvq.components.length, 2);
    assert.equal(cvq.components[0].type, 'token');
    assert.deepEqual(cvq.components[0].rows.map((r) => ('code' in r ? r.code : null)), ['15074-8', null]);
    assert.equal(cvq.components[1].type, 'quantity');
    assert.deepEqual(cvq.components[1].rows.map((r) => ('low' in r ? [r.low, r.high] : null)), [[5.35, 5.45]]);
    assert.equal(rowsOf(rows.composite, 'component-code-value-quantity').length, 0);
  });

  it('extracts narrative text for _text and all text for _content', () => {
    assert.deepEqual(rowsOf(rows.text, '_text'), [{ param: '_text', value: 'glucose more' }], 'words, without punctuation');
    const [content] = rowsOf(rows.text, '_content');
    assert.ok(['blood', 'glucose', 'mg'].every((word) => content.value.split(' ').includes(word)), content.value);
    assert.doesNotMatch(content.value, /<p>/);
    assert.equal(extractIndex(observation, { fullText: false }).text.length, 0);
  });

  it('gives the full-text index each word of a resource once', () => {
    const repeated = { ...observation, code: { coding: [{ system: 'http://loinc.org', code: '8302-2', display: 'Body Height' }], text: 'Body height' }, note: [{ text: 'Height, body: measured' }] };
    const [content] = rowsOf(extractIndex(repeated).text, '_content');
    const words = content.value.split(' ');
    assert.deepEqual(words.filter((w) => w === 'body' || w === 'height'), ['body', 'height']);
    assert.ok(words.includes('measured'));
    assert.equal(new Set(words).size, words.length);
  });

  it('splits ASCII text into words as the Unicode-aware split does, and text with accents the same way', () => {
    const unicodeSplit = (text: string) => normalizeText(text).split(/[^\p{L}\p{N}\p{Co}]+/u).filter(Boolean);
    const ascii = Array.from({ length: 128 }, (_, c) => String.fromCharCode(c)).join('');
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const samples = [ascii, 'Body Height 8302-2 mg/dL', '  x  ', '', 'É-ric naïve Ω 漢字 ①'];
    for (let i = 0; i < 500; i++) samples.push(Array.from({ length: 1 + Math.floor(random() * 40) }, () => ascii[Math.floor(random() * 128)]).join(''));
    for (const text of samples) assert.deepEqual(textWords(text), unicodeSplit(text), JSON.stringify(text));
    assert.deepEqual(textWords('Éric NAÏVE x1'), ['eric', 'naive', 'x1']);
  });

  it('does not index subject as patient when it is a Group', () => {
    const r = extractIndex({ ...observation, subject: { reference: 'Group/g1' } });
    assert.equal(rowsOf(r.reference, 'patient').length, 0);
    assert.deepEqual(rowsOf(r.reference, 'subject').map((x) => x.targetType), ['Group']);
  });

  it('pairs each component code with its own value', () => {
    const bp: Resource = {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] },
      component: [
        { code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: 107, system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
        { code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] }, valueQuantity: { value: 60, system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
      ],
    };
    const r = extractIndex(bp);
    const pairs = rowsOf(r.composite, 'component-code-value-quantity').map((c) => [
      (c.components[0].rows[0] as { code: string }).code,
      (c.components[1].rows[0] as { value: number }).value,
    ]);
    assert.deepEqual(pairs, [
      ['8480-6', 107],
      ['8462-4', 60],
    ]);
    assert.deepEqual(rowsOf(r.quantity, 'component-value-quantity').map((q) => [q.value, q.low, q.high]), [
      [107, 106.5, 107.5],
      [60, 59.5, 60.5],
    ]);
    assert.deepEqual(rowsOf(r.token, 'combo-code').map((t) => t.code), ['85354-9', '8480-6', '8462-4']);
  });
});

describe('extractIndex: Patient', () => {
  const patient: Resource = {
    resourceType: 'Patient',
    id: 'p1',
    active: true,
    identifier: [{ type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }], text: 'Medical record' }, system: 'urn:oid:1.2.3', value: '12345' }],
    name: [{ family: 'Dupré', given: ['Éric', 'Jean'] }],
    telecom: [
      { system: 'phone', value: '555-1234' },
      { system: 'email', value: 'eric@example.org' },
    ],
    gender: 'male',
    birthDate: '1970-03',
    deceasedBoolean: false,
    address: [{ line: ['1 Rue de la Paix'], city: 'Besançon', postalCode: '25000', country: 'FR' }],
    managingOrganization: { reference: 'Organization/org1' },
    generalPractitioner: [{ identifier: { system: 'urn:gp', value: 'GP7' } }],
  };
  const rows = extractIndex(patient);

  it('normalises strings (accents, case) and keeps the original', () => {
    const name = rowsOf(rows.string, 'name');
    assert.deepEqual(name.map((r) => [r.value, r.norm]), [
      ['Dupré', 'dupre'],
      ['Éric', 'eric'],
      ['Jean', 'jean'],
    ]);
    assert.deepEqual(rowsOf(rows.string, 'given').map((r) => r.norm), ['eric', 'jean']);
    assert.deepEqual(rowsOf(rows.string, 'address-city').map((r) => r.norm), ['besancon']);
    assert.ok(rowsOf(rows.string, 'address').some((r) => r.norm === '1 rue de la paix'));
  });

  it('indexes a partial birthDate as the range it covers', () => {
    assert.deepEqual(rowsOf(rows.date, 'birthdate'), [{ param: 'birthdate', low: utc('1970-03-01T00:00:00.000Z'), high: utc('1970-03-31T23:59:59.999Z') }]);
  });

  it('indexes codes, booleans, identifiers (with type) and contact points', () => {
    assert.deepEqual(rowsOf(rows.token, 'gender').map((r) => [r.system, r.code]), [[null, 'male']]);
    assert.deepEqual(rowsOf(rows.token, 'active').map((r) => r.code), ['true']);
    assert.deepEqual(rowsOf(rows.token, 'identifier'), [
      { param: 'identifier', system: 'urn:oid:1.2.3', code: '12345', text: 'medical record', typeSystem: 'http://terminology.hl7.org/CodeSystem/v2-0203', typeCode: 'MR' },
    ]);
    assert.deepEqual(rowsOf(rows.token, 'email').map((r) => [r.system, r.code]), [['email', 'eric@example.org']]);
    assert.deepEqual(rowsOf(rows.token, 'phone').map((r) => r.code), ['555-1234']);
    assert.equal(rowsOf(rows.token, 'telecom').length, 2);
  });

  it('evaluates boolean expressions (deceased: exists() and != false)', () => {
    assert.deepEqual(rowsOf(rows.token, 'deceased').map((r) => r.code), ['false']);
    const unknown = extractIndex({ resourceType: 'Patient' });
    assert.deepEqual(rowsOf(unknown.token, 'deceased').map((r) => r.code), ['false']);
    const dead = extractIndex({ ...patient, deceasedBoolean: undefined, deceasedDateTime: '2020-01-01' });
    assert.deepEqual(rowsOf(dead.token, 'deceased').map((r) => r.code), ['true']);
    assert.deepEqual(rowsOf(dead.date, 'death-date').map((r) => r.low), [utc('2020-01-01T00:00:00Z')]);
  });

  it('indexes references by id and identifier-only references by identifier', () => {
    assert.deepEqual(rowsOf(rows.reference, 'organization').map((r) => [r.targetType, r.targetId]), [['Organization', 'org1']]);
    assert.deepEqual(rowsOf(rows.reference, 'general-practitioner').map((r) => [r.targetId, r.identifierSystem, r.identifierValue]), [[null, 'urn:gp', 'GP7']]);
  });
});

describe('extractIndex: dates, numbers, quantities, uris', () => {
  it('Period with an open end reaches DATE_MAX; with no start, DATE_MIN', () => {
    const r = extractIndex({ resourceType: 'Encounter', status: 'in-progress', class: { code: 'AMB' }, period: { start: '2020-01-01' } });
    assert.deepEqual(rowsOf(r.date, 'date'), [{ param: 'date', low: utc('2020-01-01T00:00:00Z'), high: DATE_MAX }]);
    const r2 = extractIndex({ resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, period: { end: '2020-01-02T10:00:00Z' } });
    assert.deepEqual(rowsOf(r2.date, 'date'), [{ param: 'date', low: DATE_MIN, high: utc('2020-01-02T10:00:00.999Z') }]);
  });

  it('Timing is indexed by its outer limits', () => {
    const r = extractIndex({
      resourceType: 'CarePlan',
      status: 'active',
      intent: 'plan',
      subject: { reference: 'Patient/p' },
      activity: [{ detail: { status: 'scheduled', scheduledTiming: { event: ['2021-05-03', '2021-05-01T10:00:00Z'] } } }],
    });
    assert.deepEqual(rowsOf(r.date, 'activity-date'), [{ param: 'activity-date', low: utc('2021-05-01T10:00:00Z'), high: utc('2021-05-03T23:59:59.999Z') }]);
  });

  it('Condition onset as Age and as Range', () => {
    const age = extractIndex({ resourceType: 'Condition', subject: { reference: 'Patient/p' }, onsetAge: { value: 42, unit: 'a', system: 'http://unitsofmeasure.org', code: 'a' } });
    assert.deepEqual(rowsOf(age.quantity, 'onset-age').map((q) => [q.value, q.low, q.high, q.code]), [[42, 41.5, 42.5, 'a']]);
    const range = extractIndex({ resourceType: 'Condition', subject: { reference: 'Patient/p' }, onsetRange: { low: { value: 10, code: 'a' }, high: { value: 20, code: 'a' } } });
    assert.deepEqual(rowsOf(range.quantity, 'onset-age').map((q) => [q.value, q.low, q.high, q.code]), [[null, 9.5, 20.5, 'a']]);
  });

  it('Money is a quantity in ISO 4217', () => {
    const r = extractIndex({ resourceType: 'Invoice', status: 'issued', totalGross: { value: 12.5, currency: 'EUR' } });
    assert.deepEqual(rowsOf(r.quantity, 'totalgross').map((q) => [q.value, q.system, q.code]), [[12.5, 'urn:iso:std:iso:4217', 'EUR']]);
  });

  it('decimals get a precision range, integers an exact one', () => {
    const risk = extractIndex({ resourceType: 'RiskAssessment', status: 'final', subject: { reference: 'Patient/p' }, prediction: [{ probabilityDecimal: 0.8 }] });
    assert.deepEqual(rowsOf(risk.number, 'probability'), [{ param: 'probability', value: 0.8, low: 0.75, high: 0.85 }]);
    const seq = extractIndex({ resourceType: 'MolecularSequence', coordinateSystem: 0, variant: [{ start: 100, end: 101 }] });
    assert.deepEqual(rowsOf(seq.number, 'variant-start'), [{ param: 'variant-start', value: 100, low: 100, high: 100 }]);
  });

  it('uris and canonical references', () => {
    const vs = extractIndex({ resourceType: 'ValueSet', status: 'active', url: 'http://example.org/ValueSet/x', version: '1.0' });
    assert.deepEqual(rowsOf(vs.uri, 'url').map((u) => u.value), ['http://example.org/ValueSet/x']);
    const qr = extractIndex({ resourceType: 'QuestionnaireResponse', status: 'completed', questionnaire: 'http://example.org/Questionnaire/q|2.0' });
    assert.deepEqual(rowsOf(qr.reference, 'questionnaire').map((r) => [r.url, r.targetType, r.targetVersion]), [['http://example.org/Questionnaire/q', 'Questionnaire', '2.0']]);
  });

  it('drops duplicate rows of a parameter', () => {
    const coding = { system: 'http://loinc.org', code: '1234-5' };
    const r = extractIndex({ resourceType: 'Observation', status: 'final', code: { coding: [coding, coding] } });
    assert.equal(rowsOf(r.token, 'code').length, 1);
  });
});

describe('extraction plans', () => {
  it('compile for every resource type, all without the fhirpath package', () => {
    const reg = defaultRegistry();
    let total = 0;
    const slow: string[] = [];
    for (const type of reg.resourceTypes) {
      const plan = planFor(type, reg);
      for (const p of plan.params) {
        total++;
        if (!p.path.fast) slow.push(`${type}.${p.code}`);
      }
      for (const c of plan.composites) {
        for (const focus of c.foci) {
          if (!focus.path.fast || focus.components.some((comp) => !comp.path.fast)) slow.push(`${type}.${c.code}`);
        }
      }
    }
    assert.ok(total > 2000, `${total}`);
    assert.deepEqual(slow, []);
  });

  it('custom SearchParameters are indexed from their expression alone', () => {
    const registry = defaultRegistry().with([
      {
        resourceType: 'SearchParameter',
        url: 'http://example.org/SearchParameter/patient-birth-place',
        code: 'birth-place-city',
        base: ['Patient'],
        type: 'string',
        expression: "Patient.extension('http://hl7.org/fhir/StructureDefinition/patient-birthPlace').value.city",
      },
    ]);
    const r = extractIndex(
      { resourceType: 'Patient', extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace', valueAddress: { city: 'Zürich' } }] },
      { registry },
    );
    assert.deepEqual(rowsOf(r.string, 'birth-place-city').map((s) => s.norm), ['zurich']);
  });

  it('extraction of a typical Observation takes well under 1 ms', () => {
    for (let i = 0; i < 500; i++) extractIndex(observation);
    const n = 2000;
    const start = performance.now();
    for (let i = 0; i < n; i++) extractIndex(observation);
    const perResource = (performance.now() - start) / n;
    assert.ok(perResource < 0.5, `${perResource.toFixed(3)} ms per Observation`);
  });
});

describe('narrativeText', () => {
  it('drops tags, decodes entities and collapses whitespace', () => {
    assert.equal(narrativeText('<div>a&lt;b &#233;t&#xE9;\n\n<br/>x&nbsp;y</div>'), 'a<b été x y');
  });
});

describe('compilePath', () => {
  const patient: Resource = {
    resourceType: 'Patient',
    name: [{ use: 'official', family: 'Chalmers' }, { use: 'nickname', given: ['Jim'] }],
    telecom: [
      { system: 'email', use: 'work', value: 'w@x.org' },
      { system: 'email', use: 'home', value: 'h@x.org' },
    ],
    generalPractitioner: [{ reference: 'Practitioner/1' }, { reference: 'Organization/2' }, { reference: '#c1' }],
    contained: [{ resourceType: 'Practitioner', id: 'c1' }],
    multipleBirthInteger: 2,
  };
  const values = (expr: string) => compilePath(expr, 'Patient').evaluate(patient).map((n) => [n.type, n.value]);

  it('types results from the model, choice elements included', () => {
    assert.deepEqual(values('Patient.name.family'), [['string', 'Chalmers']]);
    assert.deepEqual(values('Patient.multipleBirth'), [['integer', 2]]);
    assert.deepEqual(values('Patient.multipleBirth as boolean'), []);
    assert.deepEqual(values('Patient.multipleBirth.ofType(integer)'), [['integer', 2]]);
  });

  it('where() with and, resolve() is T (contained too), first(), [n], exists()', () => {
    assert.deepEqual(values("Patient.telecom.where(system = 'email' and use = 'home').value"), [['string', 'h@x.org']]);
    assert.deepEqual(values("Patient.name.where(use = 'nickname').given"), [['string', 'Jim']]);
    assert.deepEqual(
      values('Patient.generalPractitioner.where(resolve() is Practitioner)').map(([, v]) => (v as { reference: string }).reference),
      ['Practitioner/1', '#c1'],
    );
    assert.deepEqual(values('Patient.name[1].given | Patient.name.first().family'), [
      ['string', 'Jim'],
      ['string', 'Chalmers'],
    ]);
    assert.deepEqual(values('Patient.photo.exists() or Patient.name.exists()'), [['boolean', true]]);
    assert.deepEqual(values('Patient.photo.empty() and Patient.name.exists().not()'), [['boolean', false]]);
  });

  it('hands other expressions to fhirpath', () => {
    const compiled = compilePath("Patient.telecom.select(value).where($this.startsWith('w'))", 'Patient');
    assert.equal(compiled.fast, false);
    assert.deepEqual(compiled.evaluate(patient).map((n) => n.value), ['w@x.org']);
  });
});

describe('extractIndex: repeated values of one parameter', () => {
  it('stores each distinct row once, however many rows the parameter has', () => {
    for (const distinct of [3, 40]) {
      const coding = Array.from({ length: distinct * 2 }, (_, i) => ({ system: 'http://loinc.org', code: `c${i % distinct}` }));
      const rows = extractIndex({ resourceType: 'Observation', id: 'many', status: 'final', code: { coding } }).token.filter((r) => r.param === 'code');
      assert.equal(rows.length, distinct, `${distinct} distinct codes, each twice`);
      assert.deepEqual(new Set(rows.map((r) => r.code)).size, distinct);
    }
  });
});
