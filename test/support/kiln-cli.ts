// Runs the kiln CLI from source, as `node --import tsx test/support/kiln-cli.ts …`, so tests need no build.
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
