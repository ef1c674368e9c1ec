import { textWords } from '../../search/values.js';
import type { Dialect, SqlExecutor } from './driver.js';

/**
 * Migration 4's data step: the `_text`/`_content` rows of migration 2's search_text table (text
 * normalised, with a leading space) into the full-text index, as words, 1,000 resources at a time.
 */

interface OldRow {
  rkey: number | string;
  tenant: string;
  type: string;
  param: string;
  content: string;
}

const RESOURCES_PER_ROUND = 1000;

export async function copyFullText(tx: SqlExecutor, dialect: Dialect): Promise<void> {
  for (let after = 0; ; ) {
    const rows = await tx.query<OldRow>(
      `SELECT rkey, tenant, type, param, content FROM search_text
       WHERE rkey > ? AND rkey <= (SELECT MAX(b.rkey) FROM (SELECT rkey FROM search_text WHERE rkey > ? ORDER BY rkey LIMIT ?) b)`,
      [after, after, RESOURCES_PER_ROUND],
    );
    if (rows.length === 0) return;
    const copied = rows
      .filter((row) => row.param === '_text' || row.param === '_content')
      .map((row) => ({ rkey: row.rkey, tenant: row.tenant, type: row.type, param: row.param as '_text' | '_content', words: textWords(row.content).join(' ') }))
      .filter((row) => row.words !== '');
    await dialect.fullText.insert(tx, copied);
    after = Math.max(...rows.map((row) => Number(row.rkey)));
  }
}
