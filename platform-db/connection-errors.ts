/**
 * Errors that mean "this server or connection is unusable", as opposed to "this statement
 * failed". Only these may send a read to another server: retrying a statement error elsewhere
 * would just fail twice (or, for a timeout, double the load).
 */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

/** admin_shutdown, crash_shutdown, cannot_connect_now (starting up / failing over), too_many_connections. */
const SERVER_GONE_STATES = new Set(['57P01', '57P02', '57P03', '53300']);

const CLIENT_MESSAGES = [/Connection terminated/i, /timeout exceeded when trying to connect/i, /connection error/i, /Client was closed/i];

export function isConnectionError(error: unknown): boolean {
  // Duck-typed, not instanceof Error: socket errors (ECONNREFUSED...) are made by Node's own
  // realm, which fails instanceof inside a vm context such as jest's sandbox.
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || SERVER_GONE_STATES.has(code)) return true;
    if (/^08[0-9A-Z]{3}$/.test(code)) return true; // SQLSTATE class 08: connection exception
  }
  const message = (error as { message?: unknown }).message;
  return typeof message === 'string' && CLIENT_MESSAGES.some((pattern) => pattern.test(message));
}
