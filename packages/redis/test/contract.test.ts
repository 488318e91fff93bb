import { randomBytes } from 'node:crypto';
import { afterEach } from 'vitest';
import { persistenceContract, type RedisServer, startRedisServer, useRedisServer } from '@hato/testkit';
import { RedisPersistence } from '../src/index.js';

// One real redis-server for the first suite; each store gets a prefix of its own (so every
// test starts empty), keyed by the temporary directory the contract suite hands over.
const shared = useRedisServer();

const prefixes = new Map<string, string>();
const prefixOf = (where: string): string => {
  let prefix = prefixes.get(where);
  if (prefix === undefined) prefixes.set(where, (prefix = `t${randomBytes(6).toString('hex')}:`));
  return prefix;
};

persistenceContract('Redis (hato killed)', {
  open: (where) => RedisPersistence.open(shared().url, { prefix: prefixOf(where) }),
  reopen: (where) => RedisPersistence.open(shared().url, { prefix: prefixOf(where) }),
  // The old client is dropped without close() (no QUIT), as a killed hato would leave it.
  crash: (where, previous) => {
    (previous as RedisPersistence).abandon();
    return RedisPersistence.open(shared().url, { prefix: prefixOf(where) });
  },
});

// A redis-server per test, its append-only file in the test's directory, fsync'd before each
// reply; the crash case kills redis-server too (kill -9) and restarts it on the same files.
const servers = new Map<string, RedisServer>();
afterEach(async () => {
  for (const server of servers.values()) await server.stop();
  servers.clear();
});

persistenceContract('Redis (appendfsync always; redis-server killed and restarted)', {
  open: async (where) => {
    const server = await startRedisServer({ dir: where, appendfsync: 'always' });
    servers.set(where, server);
    return RedisPersistence.open(server.url);
  },
  reopen: (where) => RedisPersistence.open(servers.get(where)!.url),
  crash: async (where, previous) => {
    (previous as RedisPersistence).abandon();
    const killed = servers.get(where)!;
    await killed.kill();
    const server = await startRedisServer({ dir: where, port: killed.port, appendfsync: 'always' });
    servers.set(where, server);
    return RedisPersistence.open(server.url);
  },
});
