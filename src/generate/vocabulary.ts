/** Code systems and value lists the synthetic generator draws from (real LOINC, SNOMED CT and RxNorm codes). */
export const LOINC = 'http://loinc.org';
export const SNOMED = 'http://snomed.info/sct';
export const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';
export const UCUM = 'http://unitsofmeasure.org';
export const NPI = 'http://hl7.org/fhir/sid/us-npi';
export const MRN = 'https://kiln.example/fhir/sid/mrn';

export interface Measure {
  code: string;
  display: string;
  unit: string;
  /** Adult mean and standard deviation; children are scaled in the generator. */
  mean: number;
  sd: number;
  decimals: number;
}

export const VITALS: Measure[] = [
  { code: '29463-7', display: 'Body weight', unit: 'kg', mean: 78, sd: 14, decimals: 1 },
  { code: '8302-2', display: 'Body height', unit: 'cm', mean: 170, sd: 9, decimals: 1 },
  { code: '8867-4', display: 'Heart rate', unit: '/min', mean: 74, sd: 10, decimals: 0 },
  { code: '9279-1', display: 'Respiratory rate', unit: '/min', mean: 15, sd: 2, decimals: 0 },
  { code: '8310-5', display: 'Body temperature', unit: 'Cel', mean: 36.8, sd: 0.3, decimals: 1 },
];
export const BMI = { code: '39156-5', display: 'Body mass index (BMI) [Ratio]', unit: 'kg/m2' };
export const BLOOD_PRESSURE = {
  panel: { code: '85354-9', display: 'Blood pressure panel with all children optional' },
  systolic: { code: '8480-6', display: 'Systolic blood pressure', unit: 'mm[Hg]', mean: 122, sd: 14, decimals: 0 },
  diastolic: { code: '8462-4', display: 'Diastolic blood pressure', unit: 'mm[Hg]', mean: 79, sd: 9, decimals: 0 },
};

export const LABS: Measure[] = [
  { code: '2339-0', display: 'Glucose [Mass/volume] in Blood', unit: 'mg/dL', mean: 98, sd: 18, decimals: 0 },
  { code: '4548-4', display: 'Hemoglobin A1c/Hemoglobin.total in Blood', unit: '%', mean: 5.7, sd: 0.7, decimals: 1 },
  { code: '2093-3', display: 'Cholesterol [Mass/volume] in Serum or Plasma', unit: 'mg/dL', mean: 190, sd: 35, decimals: 0 },
  { code: '2571-8', display: 'Triglycerides [Mass/volume] in Serum or Plasma', unit: 'mg/dL', mean: 140, sd: 45, decimals: 0 },
  { code: '2085-9', display: 'Cholesterol in HDL [Mass/volume] in Serum or Plasma', unit: 'mg/dL', mean: 55, sd: 12, decimals: 0 },
  { code: '38483-4', display: 'Creatinine [Mass/volume] in Blood', unit: 'mg/dL', mean: 0.95, sd: 0.2, decimals: 2 },
  { code: '2947-0', display: 'Sodium [Moles/volume] in Blood', unit: 'mmol/L', mean: 140, sd: 2.5, decimals: 0 },
  { code: '6298-4', display: 'Potassium [Moles/volume] in Blood', unit: 'mmol/L', mean: 4.2, sd: 0.35, decimals: 1 },
  { code: '718-7', display: 'Hemoglobin [Mass/volume] in Blood', unit: 'g/dL', mean: 14, sd: 1.4, decimals: 1 },
];

export interface ConditionKind {
  code: string;
  display: string;
  chronic: boolean;
  /** Yearly chance of onset for an adult. */
  incidence: number;
  medication?: { code: string; display: string; dose: number; unit: string; perDay: number };
}

export const CONDITIONS: ConditionKind[] = [
  { code: '44054006', display: 'Diabetes mellitus type 2 (disorder)', chronic: true, incidence: 0.01, medication: { code: '860975', display: '24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet', dose: 1, unit: 'tablet', perDay: 2 } },
  { code: '38341003', display: 'Hypertensive disorder, systemic arterial (disorder)', chronic: true, incidence: 0.02, medication: { code: '314076', display: 'lisinopril 10 MG Oral Tablet', dose: 1, unit: 'tablet', perDay: 1 } },
  { code: '55822004', display: 'Hyperlipidemia (disorder)', chronic: true, incidence: 0.015, medication: { code: '259255', display: 'atorvastatin 80 MG Oral Tablet', dose: 1, unit: 'tablet', perDay: 1 } },
  { code: '195967001', display: 'Asthma (disorder)', chronic: true, incidence: 0.005, medication: { code: '895994', display: '120 ACTUAT fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler', dose: 2, unit: 'puff', perDay: 2 } },
  { code: '15777000', display: 'Prediabetes (finding)', chronic: true, incidence: 0.01 },
  { code: '195662009', display: 'Acute viral pharyngitis (disorder)', chronic: false, incidence: 0.08 },
  { code: '10509002', display: 'Acute bronchitis (disorder)', chronic: false, incidence: 0.05, medication: { code: '308182', display: 'amoxicillin 250 MG Oral Capsule', dose: 1, unit: 'capsule', perDay: 3 } },
  { code: '444814009', display: 'Viral sinusitis (disorder)', chronic: false, incidence: 0.1 },
];

export const ENCOUNTER_TYPES = [
  { code: '185349003', display: 'Encounter for check up (procedure)', class: 'AMB' },
  { code: '185345009', display: 'Encounter for symptom (procedure)', class: 'AMB' },
  { code: '162673000', display: 'General examination of patient (procedure)', class: 'AMB' },
  { code: '50849002', display: 'Emergency room admission (procedure)', class: 'EMER' },
] as const;

export const GIVEN_MALE = ['James', 'John', 'Robert', 'Michael', 'William', 'David', 'Richard', 'Joseph', 'Thomas', 'Carlos', 'Wei', 'Ahmed', 'Luca', 'Noah', 'Liam', 'Mateo', 'Arjun', 'Kenji', 'Omar', 'Elias'];
export const GIVEN_FEMALE = ['Mary', 'Patricia', 'Jennifer', 'Linda', 'Elizabeth', 'Barbara', 'Susan', 'Maria', 'Emma', 'Olivia', 'Ava', 'Sofia', 'Mei', 'Fatima', 'Aisha', 'Chloe', 'Priya', 'Yuki', 'Nora', 'Ingrid'];
export const FAMILY = ['Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez', 'Hernandez', 'Lopez', 'Gonzalez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin', 'Lee', 'Perez', 'Thompson', 'White', 'Harris', 'Sanchez', 'Clark', 'Ramirez', 'Lewis', 'Robinson', 'Nguyen', 'Kim', 'Patel', 'Müller', "O'Brien", 'Kowalski', 'Rossi', 'Dubois', 'Okafor', 'Haddad'];
export const STREETS = ['Main St', 'Oak Ave', 'Maple Dr', 'Cedar Ln', 'Elm St', 'Washington Blvd', 'Park Rd', 'Lake View Ct', 'Hillside Ave', 'River Rd'];
export const CITIES = [
  { city: 'Boston', state: 'MA', zip: '021' },
  { city: 'Worcester', state: 'MA', zip: '016' },
  { city: 'Springfield', state: 'MA', zip: '011' },
  { city: 'Lowell', state: 'MA', zip: '018' },
  { city: 'Providence', state: 'RI', zip: '029' },
  { city: 'Hartford', state: 'CT', zip: '061' },
  { city: 'Portland', state: 'ME', zip: '041' },
  { city: 'Burlington', state: 'VT', zip: '054' },
  { city: 'Manchester', state: 'NH', zip: '031' },
  { city: 'New Haven', state: 'CT', zip: '065' },
];
export const ORGANIZATION_KINDS = ['General Hospital', 'Medical Center', 'Family Practice', 'Community Health Center', 'Internal Medicine Associates'];
