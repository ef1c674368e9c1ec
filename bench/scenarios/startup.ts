/**
 * start-up: from spawning `kiln serve` to its first 2xx answer to GET /metadata, first on empty
 * storage (schema creation included), then restarts on the same storage; then RSS at idle.
 * Only for the bench's own Kiln: there is no process to start behind --target.
 */
import { freshStorage, startKiln } from '../lib/kiln.js';
import { memoryOf } from '../lib/processes.js';
import { roundTo, type Scenario } from '../lib/scenario.js';

export const startup: Scenario = {
  name: 'startup',
  describe: 'process start to first answered GET /metadata (empty storage, then restarts) and RSS at idle',
  async run(ctx) {
    const { options } = ctx;
    if (options.target) return { scenario: 'startup', status: 'not-applicable', note: 'the bench does not start the server behind --target' };
    const storage = await freshStorage(options.backend, options.pgUrl);
    try {
      const times: number[] = [];
      let idle: { rssMB: number; peakMB: number; anonMB: number } | undefined;
      for (let run = 0; run < Math.max(2, options.startupRuns); run++) {
        const kiln = await startKiln(options.kiln, storage, options.serverNodeArgs, options.serverArgs);
        times.push(kiln.startupMs);
        if (run === 0) {
          await new Promise((resolve) => setTimeout(resolve, options.idleMs));
          idle = memoryOf(kiln.process.pid);
        }
        await kiln.process.stop();
      }
      const restarts = times.slice(1).sort((a, b) => a - b);
      return {
        scenario: 'startup',
        status: 'ok',
        details: {
          firstStartMs: roundTo(times[0])!,
          restartMedianMs: roundTo(restarts[Math.floor((restarts.length - 1) / 2)])!,
          restarts: restarts.length,
          idleRssMB: roundTo(idle?.rssMB) ?? 'n/a',
          idleAnonMB: roundTo(idle?.anonMB) ?? 'n/a',
          startupPeakRssMB: roundTo(idle?.peakMB) ?? 'n/a',
        },
      };
    } finally {
      await storage.dispose();
    }
  },
};
