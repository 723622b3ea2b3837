/** Socket errors of a connection that could not be made or was lost. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * Messages of node-postgres and knex when the server is gone or no connection can be had
 * (they carry no code of their own).
 */
const MESSAGES = [/^Connection terminated/i, /^Connection ended unexpectedly/i, /timeout exceeded when trying to connect/i, /Timeout acquiring a connection/i];

/**
 * Whether an error means that PostgreSQL cannot be reached (stopped, restarting, unreachable,
 * or the pool could get no connection), as opposed to a failed statement. SQLSTATE class 08 is
 * "connection exception"; 57P01–57P03 are an administrator's shutdown and "cannot connect now".
 * MikroORM wraps driver errors, so the causes are followed too.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message, name } = e as { code?: unknown; message?: unknown; name?: unknown };
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || code.startsWith('08') || /^57P0[123]$/.test(code))) return true;
    if (name === 'ConnectionException' || name === 'KnexTimeoutError') return true;
    if (typeof message === 'string' && MESSAGES.some((m) => m.test(message))) return true;
  }
  return false;
}
