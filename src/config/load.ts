import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { FhirVersion } from '../fhir/types.js';
import { defaultAuthConfig, validateAuthConfig } from './auth.js';
import type { AuthConfig, AuthMode, KilnConfig } from './types.js';

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };
export type KilnOverrides = DeepPartial<KilnConfig>;

export function defaultConfig(): KilnConfig {
  return {
    port: 8080,
    host: '127.0.0.1',
    dataDir: './data',
    fhirVersion: '4.0.1',
    database: { poolSize: 10, statementTimeoutMs: 30_000, readCacheMb: 32 },
    limits: {
      maxBodyBytes: 16 * 1024 * 1024,
      maxBatchEntries: 1000,
      maxTransactionEntries: 1000,
      defaultPageSize: 20,
      maxPageSize: 1000,
      maxConditionalDeletes: 1,
    },
    search: { parameters: [] },
    logging: { level: 'info', pretty: Boolean(process.stdout.isTTY) },
    auth: defaultAuthConfig(),
    tenancy: { enabled: false, claim: 'custom:tenantId' },
    allowAnonymous: false,
  };
}

/** Deep merge of plain objects; later layers win, undefined never overrides. */
export function mergeConfig(base: KilnConfig, ...layers: KilnOverrides[]): KilnConfig {
  let result: Record<string, unknown> = base as unknown as Record<string, unknown>;
  for (const layer of layers) result = mergeObjects(result, layer as Record<string, unknown>);
  return validateConfig(result as unknown as KilnConfig);
}

function mergeObjects(base: Record<string, unknown>, layer: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(layer)) {
    if (value === undefined) continue;
    const current = result[key];
    result[key] = isPlainObject(value) && isPlainObject(current) ? mergeObjects(current, value) : value;
  }
  return result;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A setting source: a name → value function (environment variables or parsed CLI flags). */
type Source = (name: string) => string | undefined;

const boolean = (name: string, raw: string): boolean => {
  if (/^(true|1|yes)$/i.test(raw)) return true;
  if (/^(false|0|no)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got '${raw}'`);
};

const list = (raw: string): string[] => raw.split(',').map((item) => item.trim()).filter(Boolean);

const integer = (name: string, raw: string | undefined): number | undefined => {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number, got '${raw}'`);
  return Number(raw);
};

/**
 * The settings that have an environment variable and a CLI flag, with their names. Both layers
 * are read through this one table so they cannot drift apart.
 */
export const settings = [
  { flag: 'port', env: 'PORT', help: 'TCP port (default 8080)', set: (v: string) => ({ port: integer('port', v) }) },
  { flag: 'host', env: 'KILN_HOST', help: 'interface to bind (default 127.0.0.1)', set: (v: string) => ({ host: v }) },
  { flag: 'data-dir', env: 'KILN_DATA_DIR', help: 'data directory for the embedded database (default ./data)', set: (v: string) => ({ dataDir: v }) },
  { flag: 'base-url', env: 'KILN_BASE_URL', help: 'public base URL used in Location headers and links', set: (v: string) => ({ baseUrl: v.replace(/\/+$/, '') }) },
  { flag: 'fhir-version', env: 'KILN_FHIR_VERSION', help: 'FHIR version to validate against: 4.0.1 (default) or 3.0.2', set: (v: string) => ({ fhirVersion: v as FhirVersion }) },
  { flag: 'database', env: 'KILN_DATABASE_URL', help: 'PostgreSQL URL (postgres://user@host:5432/db); embedded SQLite when unset', set: (v: string) => ({ databaseUrl: v }) },
  { flag: 'db-pool-size', env: 'KILN_DB_POOL_SIZE', help: 'PostgreSQL connection pool size (default 10)', set: (v: string) => ({ database: { poolSize: integer('db-pool-size', v) } }) },
  { flag: 'db-statement-timeout', env: 'KILN_DB_STATEMENT_TIMEOUT_MS', help: 'PostgreSQL statement timeout in ms (default 30000; 0 = none)', set: (v: string) => ({ database: { statementTimeoutMs: integer('db-statement-timeout', v) } }) },
  { flag: 'read-cache-mb', env: 'KILN_READ_CACHE_MB', help: 'SQLite: MB of current versions cached for reads (default 32; 0 = none)', set: (v: string) => ({ database: { readCacheMb: integer('read-cache-mb', v) } }) },
  { flag: 'max-body-bytes', env: 'KILN_MAX_BODY_BYTES', help: 'largest request body in bytes (default 16 MB)', set: (v: string) => ({ limits: { maxBodyBytes: integer('max-body-bytes', v) } }) },
  { flag: 'max-batch-entries', env: 'KILN_MAX_BATCH_ENTRIES', help: 'most entries in a batch Bundle (default 1000)', set: (v: string) => ({ limits: { maxBatchEntries: integer('max-batch-entries', v) } }) },
  { flag: 'max-transaction-entries', env: 'KILN_MAX_TRANSACTION_ENTRIES', help: 'most entries in a transaction Bundle (default 1000)', set: (v: string) => ({ limits: { maxTransactionEntries: integer('max-transaction-entries', v) } }) },
  { flag: 'default-page-size', env: 'KILN_DEFAULT_PAGE_SIZE', help: 'page size without _count (default 20)', set: (v: string) => ({ limits: { defaultPageSize: integer('default-page-size', v) } }) },
  { flag: 'max-page-size', env: 'KILN_MAX_PAGE_SIZE', help: 'largest _count honoured (default 1000)', set: (v: string) => ({ limits: { maxPageSize: integer('max-page-size', v) } }) },
  { flag: 'max-conditional-deletes', env: 'KILN_MAX_CONDITIONAL_DELETES', help: 'most resources one conditional delete may delete (default 1: several matches are a 412)', set: (v: string) => ({ limits: { maxConditionalDeletes: integer('max-conditional-deletes', v) } }) },
  { flag: 'search-parameters', env: 'KILN_SEARCH_PARAMETERS', help: 'custom SearchParameter JSON files (each a SearchParameter or a Bundle), comma-separated', set: (v: string) => ({ search: { parameters: list(v) } }) },
  { flag: 'log-level', env: 'KILN_LOG_LEVEL', help: 'fatal|error|warn|info|debug|trace|silent (default info)', set: (v: string) => ({ logging: { level: v } }) },
  { flag: 'auth-mode', env: 'KILN_AUTH_MODE', help: 'none (default, loopback only) | jwt | dev', set: (v: string) => ({ auth: { mode: v as AuthMode } }) },
  { flag: 'allow-anonymous', env: 'KILN_ALLOW_ANONYMOUS', boolean: true, help: "allow auth mode 'none' on a non-loopback address", set: (v: string) => ({ allowAnonymous: boolean('allow-anonymous', v) }) },
  { flag: 'oidc-issuer', env: 'KILN_OIDC_ISSUER', help: 'expected token issuer (jwt mode); OIDC discovery starts here', set: (v: string) => ({ auth: { issuer: v } }) },
  { flag: 'oidc-audience', env: 'KILN_OIDC_AUDIENCE', help: 'accepted token audiences, comma-separated (jwt mode)', set: (v: string) => ({ auth: { audience: list(v) } }) },
  { flag: 'jwks-uri', env: 'KILN_JWKS_URI', help: "the issuer's JWKS URL (default: from OIDC discovery)", set: (v: string) => ({ auth: { jwksUri: v } }) },
  { flag: 'auth-strategy', env: 'KILN_AUTH_STRATEGY', help: 'authorization: rbac (default) | smart', set: (v: string) => ({ auth: { strategy: v as AuthConfig['strategy'] } }) },
  { flag: 'multi-tenancy', env: 'KILN_MULTI_TENANCY', boolean: true, help: 'serve FHIR under /tenant/{id}/ (default false)', set: (v: string) => ({ tenancy: { enabled: boolean('multi-tenancy', v) } }) },
] as const;

export class ConfigError extends Error {}

export function overridesFrom(source: Source, nameOf: (setting: (typeof settings)[number]) => string): KilnOverrides[] {
  const layers: KilnOverrides[] = [];
  for (const setting of settings) {
    const raw = source(nameOf(setting));
    if (raw !== undefined && raw !== '') layers.push(setting.set(raw) as KilnOverrides);
  }
  return layers;
}

export function readConfigFile(path: string): KilnOverrides {
  let text: string;
  try {
    text = readFileSync(resolve(path), 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot read config file ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as KilnOverrides;
  } catch (error) {
    throw new ConfigError(`Config file ${path} is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * defaults < config file < environment < flags. `flags` are the parsed CLI options by flag name.
 */
export function loadConfig(flags: Record<string, string | undefined>, env: NodeJS.ProcessEnv = process.env): KilnConfig {
  const configFile = flags.config ?? env.KILN_CONFIG;
  const fileLayer = configFile ? [readConfigFile(configFile)] : [];
  const envLayers = overridesFrom((name) => env[name], (s) => s.env);
  const flagLayers = overridesFrom((name) => flags[name], (s) => s.flag);
  return mergeConfig(defaultConfig(), ...fileLayer, ...envLayers, ...flagLayers);
}

function validateConfig(config: KilnConfig): KilnConfig {
  if (config.fhirVersion !== '4.0.1' && config.fhirVersion !== '3.0.2') {
    throw new ConfigError(`fhirVersion must be 4.0.1 or 3.0.2, got '${String(config.fhirVersion)}'`);
  }
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535) throw new ConfigError(`port must be 0-65535, got '${config.port}'`);
  for (const [name, value] of Object.entries(config.limits)) {
    if (!Number.isInteger(value) || value < 1) throw new ConfigError(`limits.${name} must be a positive whole number`);
  }
  if (!Array.isArray(config.search.parameters)) throw new ConfigError('search.parameters must be a list of file paths or SearchParameter resources');
  validateAuthConfig(config);
  return config;
}
