import { afterAll, beforeAll } from 'vitest';
import { type RedisServer, type RedisServerOptions, startRedisServer } from './redis-server.js';

/**
 * One real redis-server for the calling file (or describe block): started before its tests,
 * stopped after them. Returns a getter for the tests. When redis-server cannot start (not
 * installed), every test that asks for it FAILS with the reason (a failing beforeAll would
 * only have them reported as skipped).
 */
export function useRedisServer(options: RedisServerOptions = {}): () => RedisServer {
  let server: RedisServer | undefined;
  let problem: unknown;
  beforeAll(async () => {
    try {
      server = await startRedisServer(options);
    } catch (err) {
      problem = err;
    }
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (server === undefined) throw problem ?? new Error('redis-server is not running (useRedisServer: asked outside a test?)');
    return server;
  };
}
