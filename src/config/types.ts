import type { FhirVersion } from '../fhir/types.js';

/** The one typed configuration object: defaults < config file < environment < CLI flags. */
export interface KilnConfig {
  /** TCP port to listen on (0 picks a free port). */
  port: number;
  /** Interface to bind. */
  host: string;
  /** Where the embedded database (and later binaries, keys) live. */
  dataDir: string;
  /** Public base URL used in Location headers and Bundle links; derived from host/port when unset. */
  baseUrl?: string;
  /** FHIR version whose JSON schema validates writes. */
  fhirVersion: FhirVersion;
  /** PostgreSQL connection URL; the embedded SQLite store is used when unset. */
  databaseUrl?: string;
  database: {
    /** PostgreSQL pool size. */
    poolSize: number;
    /** PostgreSQL statement timeout in milliseconds (0 = none). */
    statementTimeoutMs: number;
  };
  limits: {
    /** Largest accepted request body, in bytes. */
    maxBodyBytes: number;
    /** Most entries accepted in a batch Bundle. */
    maxBatchEntries: number;
    /** Most entries accepted in a transaction Bundle. */
    maxTransactionEntries: number;
    /** Page size when the client gives no `_count`. */
    defaultPageSize: number;
    /** Largest `_count` honoured. */
    maxPageSize: number;
  };
  logging: {
    /** pino level: fatal, error, warn, info, debug, trace, silent. */
    level: string;
    /** Human-readable logs (default: when stdout is a terminal). */
    pretty: boolean;
  };
}
