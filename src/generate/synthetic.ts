/**
 * Deterministic synthetic FHIR R4 data: patients with encounters, conditions, vital-sign and lab
 * observations (LOINC codes, UCUM quantities) and medication requests, plus the practitioners and
 * organizations they point at. The same (patients, seed) always gives the same bytes, and patient i
 * does not depend on how many patients are generated after it.
 */
import type { Bundle, BundleEntry, Resource } from '../fhir/types.js';
import { Random } from './prng.js';
import * as v from './vocabulary.js';

export interface GenerateOptions {
  patients: number;
  seed: number;
}

/** Reference time of the generated history, fixed so output does not depend on the clock. */
const NOW = Date.UTC(2024, 5, 30, 12);
const DAY = 86_400_000;
const YEAR = 365.25 * DAY;
/** Directory (Organization/Practitioner) entries per transaction bundle. */
const DIRECTORY_CHUNK = 500;

export function directorySize(patients: number): { organizations: number; practitioners: number } {
  return { organizations: Math.max(1, Math.ceil(patients / 250)), practitioners: Math.max(2, Math.ceil(patients / 25)) };
}

export const organizationId = (n: number) => `org-${n}`;
export const practitionerId = (n: number) => `prac-${n}`;

/** Organizations and practitioners, with fixed ids so patient records can reference them plainly. */
export function directoryResources({ patients, seed }: GenerateOptions): Resource[] {
  const { organizations, practitioners } = directorySize(patients);
  const resources: Resource[] = [];
  for (let n = 1; n <= organizations; n++) {
    const rng = Random.forStream(seed, -n);
    const place = rng.pick(v.CITIES);
    resources.push({
      resourceType: 'Organization',
      id: organizationId(n),
      identifier: [{ system: v.NPI, value: String(1_200_000_000 + n) }],
      active: true,
      type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'prov', display: 'Healthcare Provider' }] }],
      name: `${place.city} ${rng.pick(v.ORGANIZATION_KINDS)} ${n}`,
      telecom: [{ system: 'phone', value: phone(rng) }],
      address: [address(rng, place)],
    });
  }
  for (let n = 1; n <= practitioners; n++) {
    const rng = Random.forStream(seed, -1_000_000 - n);
    const female = rng.chance(0.5);
    resources.push({
      resourceType: 'Practitioner',
      id: practitionerId(n),
      identifier: [{ system: v.NPI, value: String(1_500_000_000 + n) }],
      active: true,
      name: [{ family: rng.pick(v.FAMILY), given: [rng.pick(female ? v.GIVEN_FEMALE : v.GIVEN_MALE)], prefix: ['Dr.'] }],
      telecom: [{ system: 'email', value: `prac-${n}@kiln.example`, use: 'work' }],
      gender: female ? 'female' : 'male',
    });
  }
  return resources;
}

/**
 * One patient's record. Resources carry ids (UUIDs); references between them are `urn:uuid:<id>`,
 * references to the directory are `Organization/org-n` and `Practitioner/prac-n`.
 */
export function patientRecord({ patients, seed }: GenerateOptions, index: number): Resource[] {
  const rng = Random.forStream(seed, index);
  const { organizations, practitioners } = directorySize(patients);
  const organization = `Organization/${organizationId(1 + (index % organizations))}`;
  const gp = `Practitioner/${practitionerId(1 + (index % practitioners))}`;
  const female = rng.chance(0.51);
  const age = rng.int(0, 95);
  const birth = NOW - age * YEAR - rng.int(0, 364) * DAY;
  const place = rng.pick(v.CITIES);
  const family = rng.pick(v.FAMILY);
  const patientId = rng.uuid();
  const patientRef = { reference: `urn:uuid:${patientId}` };

  const resources: Resource[] = [
    {
      resourceType: 'Patient',
      id: patientId,
      identifier: [{ system: v.MRN, value: `MRN-${seed}-${index}` }],
      active: true,
      name: [{ use: 'official', family, given: [rng.pick(female ? v.GIVEN_FEMALE : v.GIVEN_MALE), rng.pick(female ? v.GIVEN_FEMALE : v.GIVEN_MALE)] }],
      telecom: [{ system: 'phone', value: phone(rng), use: 'home' }],
      gender: female ? 'female' : 'male',
      birthDate: date(birth),
      address: [address(rng, place)],
      maritalStatus: age >= 18 ? { coding: [rng.chance(0.5) ? { system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'M', display: 'Married' } : { system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'S', display: 'Never Married' }] } : undefined,
      communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'en-US', display: 'English (United States)' }] } }],
      generalPractitioner: [{ reference: gp }],
      managingOrganization: { reference: organization },
    },
  ];

  const windowStart = Math.max(birth + 7 * DAY, NOW - 10 * YEAR);
  const visits = Array.from({ length: rng.int(1, 4) + (age > 50 ? rng.int(0, 4) : 0) }, () => windowStart + Math.floor(rng.next() * (NOW - windowStart)))
    .sort((a, b) => a - b)
    .map((start) => start - (start % (15 * 60_000)));
  const chronic = v.CONDITIONS.filter((c) => c.chronic && age >= 18 && rng.chance(1 - (1 - c.incidence) ** (age - 17)));
  const onsetVisit = new Map(chronic.map((c) => [c, rng.int(0, visits.length - 1)]));
  const active: { conditionId: string; kind: v.ConditionKind }[] = [];

  visits.forEach((start, visit) => {
    const type = visit > 0 && rng.chance(0.3) ? v.ENCOUNTER_TYPES[rng.int(1, 3)] : v.ENCOUNTER_TYPES[0];
    const end = start + rng.int(1, type.class === 'EMER' ? 16 : 4) * 15 * 60_000;
    const encounterId = rng.uuid();
    const encounterRef = { reference: `urn:uuid:${encounterId}` };
    const context = { subject: patientRef, encounter: encounterRef };
    resources.push({
      resourceType: 'Encounter',
      id: encounterId,
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: type.class },
      type: [{ coding: [{ system: v.SNOMED, code: type.code, display: type.display }], text: type.display }],
      subject: patientRef,
      participant: [{ individual: { reference: gp } }],
      period: { start: dateTime(start), end: dateTime(end) },
      serviceProvider: { reference: organization },
    });

    const diagnosed = chronic.filter((c) => onsetVisit.get(c) === visit);
    if (type.code === '185345009' || type.code === '50849002') {
      const acute = v.CONDITIONS.filter((c) => !c.chronic);
      diagnosed.push(rng.pick(acute));
    }
    for (const kind of diagnosed) {
      const conditionId = rng.uuid();
      resources.push({
        resourceType: 'Condition',
        id: conditionId,
        clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: kind.chronic ? 'active' : 'resolved' }] },
        verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }] },
        category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'encounter-diagnosis', display: 'Encounter Diagnosis' }] }],
        code: { coding: [{ system: v.SNOMED, code: kind.code, display: kind.display }], text: kind.display },
        ...context,
        onsetDateTime: dateTime(start),
        ...(kind.chronic ? {} : { abatementDateTime: dateTime(start + rng.int(7, 21) * DAY) }),
        recordedDate: dateTime(end),
      });
      if (kind.medication) resources.push(medicationRequest(rng, kind, conditionId, context, gp, end));
      if (kind.chronic) active.push({ conditionId, kind });
    }
    for (const renewal of active) {
      if (renewal.kind.medication && !diagnosed.includes(renewal.kind) && rng.chance(0.4)) {
        resources.push(medicationRequest(rng, renewal.kind, renewal.conditionId, context, gp, end));
      }
    }

    const issued = dateTime(end);
    const observation = (category: 'vital-signs' | 'laboratory', code: { code: string; display: string }, value: object) => ({
      resourceType: 'Observation',
      id: rng.uuid(),
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: category, display: category === 'laboratory' ? 'Laboratory' : 'Vital Signs' }] }],
      code: { coding: [{ system: v.LOINC, code: code.code, display: code.display }], text: code.display },
      ...context,
      effectiveDateTime: dateTime(start),
      issued,
      ...value,
    });
    const ageNow = (start - birth) / YEAR;
    const childScale = ageNow >= 18 ? 1 : Math.max(0.15, (ageNow + 1) / 19);
    const measured = new Map<string, number>();
    for (const vital of v.VITALS) {
      const scale = vital.unit === 'kg' || vital.unit === 'cm' ? childScale : 1;
      const value = Math.max(0.1, rng.normal(vital.mean * scale, vital.sd * scale, vital.decimals));
      measured.set(vital.code, value);
      resources.push(observation('vital-signs', vital, { valueQuantity: quantity(value, vital.unit) }));
    }
    const metres = measured.get('8302-2')! / 100;
    resources.push(observation('vital-signs', v.BMI, { valueQuantity: quantity(Math.round((measured.get('29463-7')! / (metres * metres)) * 10) / 10, v.BMI.unit) }));
    const { panel, systolic, diastolic } = v.BLOOD_PRESSURE;
    resources.push(
      observation('vital-signs', panel, {
        component: [systolic, diastolic].map((part) => ({
          code: { coding: [{ system: v.LOINC, code: part.code, display: part.display }] },
          valueQuantity: quantity(rng.normal(part.mean, part.sd, 0), part.unit),
        })),
      }),
    );
    if (age >= 18 && rng.chance(0.4)) {
      for (const lab of v.LABS) {
        if (rng.chance(0.6)) resources.push(observation('laboratory', lab, { valueQuantity: quantity(Math.max(0.01, rng.normal(lab.mean, lab.sd, lab.decimals)), lab.unit) }));
      }
    }
  });
  return resources.map(dropUndefined);
}

function medicationRequest(rng: Random, kind: v.ConditionKind, conditionId: string, context: object, requester: string, at: number): Resource {
  const med = kind.medication!;
  return {
    resourceType: 'MedicationRequest',
    id: rng.uuid(),
    status: kind.chronic ? 'active' : 'completed',
    intent: 'order',
    medicationCodeableConcept: { coding: [{ system: v.RXNORM, code: med.code, display: med.display }], text: med.display },
    ...context,
    authoredOn: dateTime(at),
    requester: { reference: requester },
    reasonReference: [{ reference: `urn:uuid:${conditionId}` }],
    dosageInstruction: [
      {
        sequence: 1,
        text: `${med.dose} ${med.unit} ${med.perDay} times a day`,
        timing: { repeat: { frequency: med.perDay, period: 1, periodUnit: 'd' } },
        doseAndRate: [{ doseQuantity: { value: med.dose, unit: med.unit } }],
      },
    ],
  };
}

/** Transaction bundles: the directory first (PUT, in chunks), then one bundle per patient (POST). */
export function* transactionBundles(options: GenerateOptions): Generator<Bundle> {
  yield* directoryBundles(options);
  for (let i = 0; i < options.patients; i++) yield patientBundle(patientRecord(options, i));
}

/** The directory as PUT transaction bundles of at most 500 entries (servers cap transaction sizes). */
export function directoryBundles(options: GenerateOptions): Bundle[] {
  const directory = directoryResources(options);
  const bundles: Bundle[] = [];
  for (let i = 0; i < directory.length; i += DIRECTORY_CHUNK) bundles.push(directoryBundle(directory.slice(i, i + DIRECTORY_CHUNK)));
  return bundles;
}

export function directoryBundle(resources: Resource[]): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: resources.map((resource) => ({ resource, request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` } })),
  };
}

export function patientBundle(record: Resource[]): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: record.map(({ id, ...resource }): BundleEntry => ({ fullUrl: `urn:uuid:${id}`, resource: resource as Resource, request: { method: 'POST', url: resource.resourceType } })),
  };
}

/** The record as stand-alone resources (bulk-data NDJSON style): `urn:uuid:` references become `Type/id`. */
export function resolveReferences(record: Resource[]): Resource[] {
  const types = new Map(record.map((r) => [`urn:uuid:${r.id}`, `${r.resourceType}/${r.id}`]));
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, key === 'reference' && typeof inner === 'string' ? (types.get(inner) ?? inner) : rewrite(inner)]));
    }
    return value;
  };
  return record.map((r) => rewrite(r) as Resource);
}

function quantity(value: number, unit: string) {
  return { value, unit, system: v.UCUM, code: unit };
}

function address(rng: Random, place: (typeof v.CITIES)[number]) {
  return { line: [`${rng.int(1, 999)} ${rng.pick(v.STREETS)}`], city: place.city, state: place.state, postalCode: `${place.zip}${rng.int(10, 99)}`, country: 'US' };
}

function phone(rng: Random): string {
  return `555-${String(rng.int(100, 999))}-${String(rng.int(0, 9999)).padStart(4, '0')}`;
}

function date(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function dateTime(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

function dropUndefined(resource: Resource): Resource {
  return Object.fromEntries(Object.entries(resource).filter(([, value]) => value !== undefined)) as Resource;
}
