import type { Dialect } from './driver.js';

/**
 * The search index tables (docs/search.md). Every row carries the resource key, tenant, type and
 * parameter code; rows exist only for the current version of resources that are not deleted, so
 * a query on an index table needs the `resource` table only to read the matches.
 */

type ColumnKind = 'text' | 'btext' | 'bigint' | 'double' | 'int';

export interface IndexTable {
  name: string;
  /** Value columns (after rkey, tenant, type, param), in insert order. */
  columns: readonly (readonly [string, ColumnKind, 'null'?])[];
  /**
   * Extra indexes (columns, optional partial-index condition). They end in `rkey` so that
   * listing the matches of a condition reads the index alone.
   */
  indexes: readonly { columns: readonly string[]; where?: string }[];
  /** Columns after `(rkey, param)` in the per-resource index (to cover includes and sort keys). */
  rkeyIndex?: readonly string[];
}

const scope = ['tenant', 'type', 'param'];

export const INDEX_TABLES = {
  string: {
    name: 'search_string',
    columns: [['value', 'text'], ['norm', 'btext']],
    indexes: [{ columns: [...scope, 'norm', 'rkey'] }],
  },
  token: {
    name: 'search_token',
    columns: [['system', 'btext', 'null'], ['code', 'btext', 'null'], ['text', 'btext', 'null'], ['type_system', 'btext', 'null'], ['type_code', 'btext', 'null']],
    indexes: [{ columns: [...scope, 'code', 'system', 'rkey'] }],
  },
  reference: {
    name: 'search_reference',
    columns: [
      ['target_type', 'btext', 'null'],
      ['target_id', 'btext', 'null'],
      ['target_version', 'btext', 'null'],
      ['url', 'btext', 'null'],
      ['identifier_system', 'btext', 'null'],
      ['identifier_value', 'btext', 'null'],
    ],
    // By target: serves searches and chains (`subject=Patient/1`), _revinclude, _has and
    // compartments alike. By URL: absolute and canonical references.
    indexes: [{ columns: ['tenant', 'target_id', 'type', 'param', 'target_type', 'rkey'] }, { columns: [...scope, 'url', 'rkey'], where: 'url IS NOT NULL' }],
    rkeyIndex: ['target_type', 'target_id'],
  },
  date: {
    name: 'search_date',
    columns: [['low', 'bigint'], ['high', 'bigint']],
    indexes: [{ columns: [...scope, 'low', 'high', 'rkey'] }],
    rkeyIndex: ['low', 'high'],
  },
  number: {
    name: 'search_number',
    columns: [['value', 'double'], ['low', 'double'], ['high', 'double']],
    indexes: [{ columns: [...scope, 'value', 'rkey'] }],
  },
  quantity: {
    name: 'search_quantity',
    // low/high: the bounds searched by (the value itself, or a Range's bounds, open ends ±1e308)
    columns: [['value', 'double', 'null'], ['low', 'double'], ['high', 'double'], ['system', 'btext', 'null'], ['code', 'btext', 'null'], ['unit', 'btext', 'null']],
    indexes: [{ columns: [...scope, 'low', 'high', 'rkey'] }],
  },
  uri: {
    name: 'search_uri',
    columns: [['value', 'btext']],
    indexes: [{ columns: [...scope, 'value', 'rkey'] }],
  },
  // One row per combination of component values of one focus element (grp). The first component
  // (always a token or reference in R4) is a0/b0; later ones k = 1, 2 use ak (system, type),
  // bk (code, normalised string, uri, id), nk (number/quantity value) and lok/hik (ranges).
  composite: {
    name: 'search_composite',
    columns: [
      ['grp', 'int'],
      ['a0', 'btext', 'null'],
      ['b0', 'btext', 'null'],
      ['a1', 'btext', 'null'],
      ['b1', 'btext', 'null'],
      ['n1', 'double', 'null'],
      ['lo1', 'double', 'null'],
      ['hi1', 'double', 'null'],
      ['a2', 'btext', 'null'],
      ['b2', 'btext', 'null'],
      ['n2', 'double', 'null'],
      ['lo2', 'double', 'null'],
      ['hi2', 'double', 'null'],
    ],
    indexes: [{ columns: [...scope, 'b0', 'rkey'] }],
  },
} as const satisfies Record<string, IndexTable>;

export type IndexTableName = keyof typeof INDEX_TABLES;

/** The tables of the typed index rows, by kind. */
export const TYPED_TABLES = Object.keys(INDEX_TABLES) as IndexTableName[];

/**
 * Migration 2's `_text`/`_content` table (normalised text with a leading space). Migration 4
 * copied its rows into the full-text index and migration 7 drops it; nothing else uses it. It
 * stays part of migration 2, which never changes, so that a database built from scratch still
 * has the table migration 4 copies from.
 */
const RETIRED_TEXT_TABLE: IndexTable = { name: 'search_text', columns: [['content', 'text']], indexes: [] };

function columnType(kind: ColumnKind, d: Dialect): string {
  switch (kind) {
    case 'btext':
      return d.binaryText;
    case 'bigint':
      return d.bigint;
    case 'double':
      return d.double;
    case 'int':
      return 'INTEGER';
    default:
      return 'TEXT';
  }
}

/** Migration 2: the index tables, the retired text table last (as it was when released). */
export function searchIndexStatements(d: Dialect): string[] {
  const statements: string[] = [
    // Listing a type in key order (searches without a selective clause) and _lastUpdated.
    `CREATE INDEX resource_type_key ON resource (tenant, type, deleted, rkey)`,
    `CREATE INDEX resource_type_updated ON resource (tenant, type, last_updated)`,
  ];
  for (const table of [...Object.values(INDEX_TABLES), RETIRED_TEXT_TABLE] as IndexTable[]) {
    const columns = table.columns.map(([name, kind, nullable]) => `${name} ${columnType(kind, d)}${nullable ? '' : ' NOT NULL'}`);
    statements.push(`CREATE TABLE ${table.name} (
        rkey ${d.bigint} NOT NULL,
        tenant TEXT NOT NULL,
        type TEXT NOT NULL,
        param ${d.binaryText} NOT NULL,
        ${columns.join(',\n        ')}
      )`);
    statements.push(`CREATE INDEX ${table.name}_rkey ON ${table.name} (${['rkey', 'param', ...(table.rkeyIndex ?? [])].join(', ')})`);
    table.indexes.forEach((index, i) => {
      statements.push(`CREATE INDEX ${table.name}_${i} ON ${table.name} (${index.columns.join(', ')})${index.where ? ` WHERE ${index.where}` : ''}`);
    });
  }
  return statements;
}
