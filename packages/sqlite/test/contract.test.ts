import { join } from 'node:path';
import { persistenceContract } from '@hato/testkit';
import { SqlitePersistence } from '../src/index.js';

const file = (where: string): string => join(where, 'hato.db');

persistenceContract('SQLite (synchronous normal)', {
  open: async (where) => new SqlitePersistence(file(where)),
  reopen: async (where) => new SqlitePersistence(file(where)),
  // The old handle is dropped without close(): what a killed process leaves (WAL not checkpointed).
  crash: async (where) => new SqlitePersistence(file(where)),
});

persistenceContract('SQLite (synchronous full)', {
  open: async (where) => new SqlitePersistence(file(where), { synchronous: 'full' }),
  reopen: async (where) => new SqlitePersistence(file(where), { synchronous: 'full' }),
});
