import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, settings } from '../config/load.js';
import { generateCommand } from './generate.js';
import { migrateCommand } from './migrate.js';
import { reindexCommand } from './reindex.js';
import { serve } from './serve.js';
import { tokenCommand, tokenOptions, tokenUsage } from './token.js';

const usage = `Kiln — a FHIR R4 server

Usage: kiln <command> [options]

Commands:
  serve        start the FHIR server (default)
  migrate      create or upgrade the database schema, then exit
  reindex      rebuild the search index of every resource (e.g. after changing search parameters), then exit
  generate     write synthetic FHIR data (kiln generate --help)
  token        mint a bearer token for dev mode (options below)
  help         show this help

Options (each has an environment twin; precedence: defaults < config file < environment < flags):
${[{ flag: 'config', env: 'KILN_CONFIG', help: 'JSON config file (same shape as KilnConfig)' }, ...settings]
  .map((s) => `  --${s.flag.padEnd(26)} ${s.help} [${s.env}]`)
  .join('\n')}
  --help                       show this help

${tokenUsage}
`;

export async function main(argv: string[]): Promise<number> {
  // `generate` needs no server configuration and has options of its own.
  if (argv[0] === 'generate') return generateCommand(argv.slice(1));
  const options = Object.fromEntries([['config', { type: 'string' as const }], ['help', { type: 'boolean' as const, short: 'h' }], ...settings.map((s) => [s.flag, { type: 'boolean' in s ? ('boolean' as const) : ('string' as const) }]), ...Object.entries(tokenOptions)]);
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const command = parsed.positionals[0] ?? 'serve';
  if (values.help || command === 'help') {
    process.stdout.write(usage);
    return 0;
  }
  try {
    const flags = Object.fromEntries(
      Object.entries(values)
        .filter(([name, v]) => typeof v === 'string' || (v === true && name !== 'help'))
        .map(([name, v]) => [name, String(v)]),
    ) as Record<string, string>;
    const config = loadConfig(flags);
    switch (command) {
      case 'serve':
        return await serve(config);
      case 'migrate':
        return await migrateCommand(config);
      case 'reindex':
        return await reindexCommand(config);
      case 'token':
        return await tokenCommand(config, flags);
      default:
        process.stderr.write(`Unknown command '${command}'\n\n${usage}`);
        return 2;
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`kiln: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}
