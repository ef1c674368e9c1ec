import { invalid } from './errors.js';

/**
 * FHIR date, dateTime and instant values (datatypes.html#dateTime) as the range of instants
 * they cover at their precision: "2020" is all of 2020, "2020-03-04T10:00" one minute.
 * Values without a time zone are taken as UTC.
 */
const DATE_TIME = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

export interface InstantRange {
  /** ISO instant with milliseconds, UTC. */
  start: string;
  /** ISO instant with milliseconds, UTC: the last millisecond the value covers. */
  end: string;
}

export function parseDateRange(value: string, parameter: string): InstantRange {
  const match = DATE_TIME.exec(value);
  const fail = () => invalid(`Invalid date/time value '${value}' for parameter '${parameter}'`, [parameter]);
  if (!match) throw fail();
  const [, year, month, day, hour, minute, second, fraction, zone] = match;
  const y = Number(year);
  const mo = month ? Number(month) - 1 : 0;
  const d = day ? Number(day) : 1;
  const h = hour ? Number(hour) : 0;
  const mi = minute ? Number(minute) : 0;
  const s = second ? Number(second) : 0;
  const ms = fraction ? Number(fraction.padEnd(3, '0').slice(0, 3)) : 0;
  if (mo > 11 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) throw fail();
  const offsetMinutes = zone && zone !== 'Z' ? (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) : 0;
  const startMs = Date.UTC(y, mo, d, h, mi, s, ms) - offsetMinutes * 60_000;
  if (new Date(Date.UTC(y, mo, d)).getUTCDate() !== d) throw fail();
  let endMs: number;
  if (fraction !== undefined) endMs = startMs + (fraction.length >= 3 ? 0 : 10 ** (3 - fraction.length) - 1);
  else if (second !== undefined) endMs = startMs + 999;
  else if (minute !== undefined) endMs = startMs + 60_000 - 1;
  else if (day !== undefined) endMs = Date.UTC(y, mo, d + 1) - 1 - offsetMinutes * 60_000;
  else if (month !== undefined) endMs = Date.UTC(y, mo + 1, 1) - 1;
  else endMs = Date.UTC(y + 1, 0, 1) - 1;
  return { start: new Date(startMs).toISOString(), end: new Date(endMs).toISOString() };
}
