import type { KilnConfig } from '../config/types.js';
import { createKiln } from '../index.js';

/** `kiln serve`: runs until SIGINT/SIGTERM, then finishes requests in flight and closes the store. */
export async function serve(config: KilnConfig): Promise<number> {
  let kiln;
  try {
    kiln = await createKiln(config);
  } catch (error) {
    process.stderr.write(`kiln: cannot start: ${(error as Error).message}\n`);
    return 1;
  }
  let baseUrl: string;
  try {
    baseUrl = await kiln.listen();
  } catch (error) {
    process.stderr.write(`kiln: cannot listen on ${config.host}:${config.port}: ${(error as Error).message}\n`);
    await kiln.close();
    return 1;
  }
  kiln.app.log.info({ baseUrl, store: config.databaseUrl ? 'postgres' : `sqlite (${config.dataDir})`, fhirVersion: config.fhirVersion }, `Kiln FHIR server listening on ${baseUrl}`);
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      kiln.app.log.info(`${signal} received, shutting down`);
      kiln.close().then(
        () => resolve(0),
        (error: unknown) => {
          process.stderr.write(`kiln: error while shutting down: ${(error as Error).message}\n`);
          resolve(1);
        },
      );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
