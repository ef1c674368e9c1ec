import type { KilnConfig } from '../config/types.js';
import type { IndexUpkeep } from './types.js';

/** What a search index rebuild needs from the configuration, and how it reports to the log. */

export interface ProgressLog {
  info(details: object, message: string): void;
}

/** Logs at the first batch, then at most every `everyMs`, and when done. */
const EVERY_MS = 2000;

export function indexUpkeep(config: KilnConfig, log: ProgressLog): IndexUpkeep {
  let lastLog = -Infinity;
  return {
    baseUrls: referenceBaseUrls(config),
    onProgress(progress) {
      const { resources, total, changed } = progress;
      const seconds = Math.round(progress.elapsedMs) / 1000;
      if (progress.finished) {
        log.info({ resources, changed, seconds }, `Search index rebuilt for the current search parameters: ${resources} resources read, ${changed} re-indexed, in ${seconds} s`);
      } else if (lastLog === -Infinity || progress.elapsedMs - lastLog >= EVERY_MS) {
        if (lastLog === -Infinity) log.info({ total }, `The search parameters changed: rebuilding the search index of ${total} resources before serving`);
        else log.info({ resources, total, changed, seconds }, `Rebuilding the search index: ${resources} of ${total} resources`);
        lastLog = progress.elapsedMs;
      }
    },
  };
}

/**
 * The base URLs under which stored absolute references point at this server, per tenant: the
 * configured base URL, else the one the server will listen on (unknown with port 0). Writes index
 * such references as local `Type/id`; a rebuild does the same only when it knows the base URL.
 */
export function referenceBaseUrls(config: KilnConfig): (tenant: string) => readonly string[] {
  const base = config.baseUrl ?? listenUrl(config);
  if (!base) return () => [];
  return (tenant) => [tenant ? `${base}/tenant/${tenant}` : base];
}

function listenUrl(config: KilnConfig): string | undefined {
  if (config.port === 0) return undefined;
  const unspecified = config.host === '0.0.0.0' || config.host === '::';
  const host = unspecified ? 'localhost' : config.host.includes(':') ? `[${config.host}]` : config.host;
  return `http://${host}:${config.port}`;
}
