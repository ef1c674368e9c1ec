// Runs the kiln CLI from source (`node --import tsx bench/kiln-source.ts serve …`), for `--kiln source`.
import { main } from '../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
