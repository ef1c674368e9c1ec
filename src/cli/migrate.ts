import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { KilnConfig } from '../config/types.js';
import type { SqlDatabase } from '../store/sql/driver.js';
import { migrate } from '../store/sql/schema.js';

/**
 * `kiln migrate`: brings the database schema up to date and exits, for operators who migrate
 * before rolling out servers (`kiln serve` also migrates on start; both are safe to run at once).
 */
export async function migrateCommand(config: KilnConfig): Promise<number> {
  let db: SqlDatabase | undefined;
  try {
    let where: string;
    let applied: number;
    if (config.databaseUrl) {
      const { connectPostgres, migratePostgres } = await import('../store/postgres/index.js');
      const { describeTarget } = await import('../store/postgres/connect-errors.js');
      const target = describeTarget(config.databaseUrl);
      where = `PostgreSQL ${target.host}:${target.port}/${target.database}`;
      const pg = await connectPostgres(config.databaseUrl, { ...config.database, poolSize: 1 });
      db = pg;
      applied = await migratePostgres(pg);
    } else {
      const { SqliteDatabase } = await import('../store/sqlite/sqlite-database.js');
      const { SQLITE_FILE_NAME } = await import('../store/sqlite/index.js');
      mkdirSync(config.dataDir, { recursive: true });
      where = `SQLite ${join(config.dataDir, SQLITE_FILE_NAME)}`;
      db = new SqliteDatabase(join(config.dataDir, SQLITE_FILE_NAME));
      applied = await migrate(db);
    }
    const [{ version }] = await db.query<{ version: number | null }>('SELECT MAX(version) AS version FROM kiln_migration');
    process.stdout.write(
      applied > 0
        ? `kiln migrate: ${where}: applied ${applied} migration${applied === 1 ? '' : 's'}, schema version is now ${version}\n`
        : `kiln migrate: ${where}: schema version ${version} is up to date, nothing to do\n`,
    );
    return 0;
  } catch (error) {
    process.stderr.write(`kiln: cannot migrate: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await db?.close();
  }
}
