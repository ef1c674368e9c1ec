/** Where a URL points, for messages: host, port, database and user, never the password. */
export interface Target {
  host: string;
  port: string;
  database: string;
  user: string;
}

export function describeTarget(url: string): Target {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('Invalid database URL: expected postgres://user[:password]@host[:port]/database');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new Error(`Invalid database URL: the scheme must be postgres:// or postgresql://, not ${parsed.protocol}//`);
  }
  const user = decode(parsed.username) || process.env.PGUSER || '';
  return {
    host: parsed.hostname || parsed.searchParams.get('host') || 'localhost',
    port: parsed.port || '5432',
    database: decode(parsed.pathname.slice(1)) || user,
    user,
  };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

const networkReasons: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is PostgreSQL running and listening there?)',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'connection reset by the server',
  ENOENT: 'no such socket',
};

const serverReasons: Record<string, string> = {
  '28P01': 'authentication failed',
  '28000': 'authentication failed',
  '3D000': 'database does not exist',
  '53300': 'too many connections',
  '57P03': 'the server is starting up or shutting down',
};

/** One line saying why connecting failed, for `kiln: cannot start: …`. */
export function describeConnectError(error: unknown, target: Target): string {
  const where = `Cannot connect to PostgreSQL at ${target.host}:${target.port}`;
  const err = error as { code?: string; message?: string; errors?: { code?: string }[] };
  const code = err.code ?? err.errors?.find((e) => e.code)?.code;
  if (code && networkReasons[code]) return `${where}: ${networkReasons[code]}`;
  const message = err.message ?? String(error);
  if (code && serverReasons[code]) return `${where} (database '${target.database}', user '${target.user}'): ${serverReasons[code]}: ${message}`;
  if (/password must be a string|password authentication/i.test(message)) {
    return `${where} (user '${target.user}'): authentication failed: the server asks for a password and none (or a wrong one) was given`;
  }
  if (/timeout/i.test(message)) return `${where}: connection timed out`;
  return `${where}: ${message}`;
}
