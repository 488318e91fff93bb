import { type Logger, pino } from 'pino';
import PinoPretty from 'pino-pretty';

/**
 * The CLI's logger: pino JSON lines on stdout, pretty-printed when stdout is a terminal.
 * `verbose` lowers the level from info to debug.
 */
export function createLogger(verbose: boolean, pretty = process.stdout.isTTY === true): Logger {
  const level = verbose ? 'debug' : 'info';
  if (!pretty) return pino({ level, base: { name: 'hato' } }, pino.destination({ fd: 1, sync: true }));
  return pino({ level, base: { name: 'hato' } }, PinoPretty({ colorize: true, sync: true, destination: 1 }));
}
