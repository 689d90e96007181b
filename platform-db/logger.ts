/**
 * The library logs through this interface so a service can hand in its own structured logger
 * (pino, powertools) and tests can capture what was logged.
 */
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug?(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

function line(level: string, message: string, fields?: LogFields): string {
  return JSON.stringify({ level, message, ...fields, time: new Date().toISOString() });
}

/** One JSON object per line, which CloudWatch Logs Insights parses without configuration. */
export const jsonConsoleLogger: Logger = {
  debug: (message, fields) => console.debug(line('debug', message, fields)),
  info: (message, fields) => console.info(line('info', message, fields)),
  warn: (message, fields) => console.warn(line('warn', message, fields)),
  error: (message, fields) => console.error(line('error', message, fields)),
};

export const silentLogger: Logger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
