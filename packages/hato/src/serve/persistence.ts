import { MemoryPersistence, type Persistence } from '@hato/broker';
import type { PersistenceSpec } from '../config/persistence.js';

/**
 * Opens the store the config names. Each adapter is imported when used (its native or
 * network dependency loads only then): adding one is one branch here.
 * Throws (a message naming the file or URL) when the store cannot be opened.
 */
export async function openPersistence(spec: PersistenceSpec): Promise<Persistence> {
  switch (spec.type) {
    case 'memory':
      return new MemoryPersistence();
    case 'sqlite': {
      const { SqlitePersistence } = await import('@hato/sqlite');
      return new SqlitePersistence(spec.file, { synchronous: spec.synchronous });
    }
    case 'redis': {
      const { RedisPersistence } = await import('@hato/redis');
      return RedisPersistence.open(spec.url, spec.prefix === undefined ? {} : { prefix: spec.prefix });
    }
  }
}
