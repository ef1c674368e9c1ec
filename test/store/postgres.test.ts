import { openTestPostgres, testPostgresUrl } from '../support/postgres.js';
import { storeContract } from './contract.js';

// PostgreSQL at KILN_TEST_POSTGRES_URL (own schema, dropped afterwards), else PGlite.
storeContract(testPostgresUrl() ? 'postgres' : 'postgres (PGlite)', openTestPostgres);
