import type { KilnConfig } from '../config/types.js';
import { searchParameterSet } from '../search/parameter-set.js';
import { referenceBaseUrls } from '../store/index-upkeep.js';
import { openStore } from '../store/open.js';

/**
 * `kiln reindex`: rebuilds the search index rows of every current resource, full text included,
 * with the configured search parameters, and exits. Servers do this by themselves when the
 * parameters change; this is for repairs, and for rebuilding ahead of a rollout.
 */
export async function reindexCommand(config: KilnConfig, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const where = config.databaseUrl ? 'PostgreSQL' : `SQLite in ${config.dataDir}`;
  let store;
  try {
    const parameters = searchParameterSet(config.search.parameters);
    store = await openStore(config);
    let lastLog = 0;
    const result = await store.reindex(parameters, {
      fullText: true,
      baseUrls: referenceBaseUrls(config),
      onProgress(progress) {
        if (progress.finished || progress.elapsedMs - lastLog < 2000) return;
        lastLog = progress.elapsedMs;
        out.write(`kiln reindex: ${progress.resources} of ${progress.total} resources (${(progress.elapsedMs / 1000).toFixed(1)} s)\n`);
      },
    });
    const seconds = result.elapsedMs / 1000;
    const rate = seconds > 0 ? Math.round(result.resources / seconds) : result.resources;
    out.write(`kiln reindex: ${where}: ${result.resources} resources read, ${result.changed} re-indexed, in ${seconds.toFixed(1)} s (${rate} resources/s)\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`kiln: cannot reindex: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await store?.close();
  }
}
