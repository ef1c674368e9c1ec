import type { KilnConfig } from '../config/types.js';

/** pino options for Fastify's logger: JSON lines, or pretty lines in a terminal. */
export function loggerOptions(config: KilnConfig): object | boolean {
  if (config.logging.level === 'silent') return false;
  const options: Record<string, unknown> = { level: config.logging.level };
  if (config.logging.pretty) {
    options.transport = { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname,reqId' } };
  }
  return options;
}
