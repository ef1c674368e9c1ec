/**
 * SQL fragments with their parameters, composed in order: `sql\`a = ${value} AND ${other}\``
 * turns values into `?` placeholders and inlines nested fragments. Identifiers (tables, aliases)
 * are never values: pass them through `raw()`, and only from code, never from a request.
 */
export type SqlParam = string | number | null;

export interface Sql {
  text: string;
  params: SqlParam[];
}

export function raw(text: string): Sql {
  return { text, params: [] };
}

function isSql(value: unknown): value is Sql {
  return typeof value === 'object' && value !== null && 'text' in value && 'params' in value;
}

export function sql(strings: TemplateStringsArray, ...values: (Sql | SqlParam)[]): Sql {
  let text = strings[0];
  const params: SqlParam[] = [];
  values.forEach((value, i) => {
    if (isSql(value)) {
      text += value.text;
      params.push(...value.params);
    } else {
      text += '?';
      params.push(value);
    }
    text += strings[i + 1];
  });
  return { text, params };
}

export function join(parts: readonly Sql[], separator: string): Sql {
  return { text: parts.map((p) => p.text).join(separator), params: parts.flatMap((p) => p.params) };
}

/** `(a OR b …)`; FALSE for none. */
export function or(parts: readonly Sql[]): Sql {
  if (parts.length === 0) return raw('1 = 0');
  return parts.length === 1 ? parts[0] : sql`(${join(parts, ' OR ')})`;
}

/** `a AND b …`; TRUE for none. */
export function and(parts: readonly Sql[]): Sql {
  if (parts.length === 0) return raw('1 = 1');
  return parts.length === 1 ? parts[0] : sql`(${join(parts, ' AND ')})`;
}

/** `col IN (?, ?, …)` (or `=` for one value). */
export function inList(column: string, values: readonly SqlParam[]): Sql {
  if (values.length === 0) return raw('1 = 0');
  if (values.length === 1) return sql`${raw(column)} = ${values[0]}`;
  return sql`${raw(column)} IN (${join(values.map((v) => sql`${v}`), ', ')})`;
}
