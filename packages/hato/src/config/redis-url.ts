/** The redis:// URL rules shared by the `persistence` and `cluster` keys. */

/** `redis://:***@HOST:PORT/DB`: the URL without its password (or user:password), for logs and errors. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/** What is wrong with a redis:// URL (host, port 1-65535, database a number), else undefined. */
export function redisUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `not a URL: redis://HOST:PORT[/DB] (got '${redactUrl(url)}')`;
  }
  if (parsed.hostname === '') return 'redis URL needs a host: redis://HOST:PORT[/DB]';
  if (parsed.port !== '' && !(Number(parsed.port) >= 1 && Number(parsed.port) <= 65535)) return `redis port must be 1-65535 (got ${parsed.port})`;
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) return `redis database must be a number: redis://HOST:PORT/DB (got '${db}')`;
  return undefined;
}
