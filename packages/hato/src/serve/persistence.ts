import { MemoryPersistence, type Persistence } from '@hato/broker';
import type { PersistenceSpec } from '../config/persistence.js';

/**
 * Opens the store the config names. Each adapter is imported when used (its native or
 * network dependency loads only then): adding one is one branch here.
 * Throws (a message naming the file or URL) when the store cannot be opened; `warn` hears
 * what the operator should know about a store that opened (Redis without its append-only file).
 */
export async function openPersistence(spec: PersistenceSpec, warn: (message: string) => void = () => {}): Promise<Persistence> {
  switch (spec.type) {
    case 'memory':
      return new MemoryPersistence();
    case 'sqlite': {
      const { SqlitePersistence } = await import('@hato/sqlite');
      return new SqlitePersistence(spec.file, { synchronous: spec.synchronous });
    }
    case 'redis': {
      const { RedisPersistence } = await import('@hato/redis');
      const store = await RedisPersistence.open(spec.url, spec.prefix === undefined ? {} : { prefix: spec.prefix });
      if (store.durability.appendonly === false) {
        warn('Redis runs without its append-only file (appendonly no): what hato acknowledged survives hato, not a restart of Redis (set appendonly yes)');
      }
      return store;
    }
  }
}
