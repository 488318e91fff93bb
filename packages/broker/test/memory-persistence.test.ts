import { persistenceContract } from '@hato/testkit';
import { MemoryPersistence } from '../src/index.js';

// A restart of the memory adapter is a second Broker given the same instance; it has no crash.
persistenceContract('memory', {
  open: async () => new MemoryPersistence(),
  reopen: async (_where, previous) => previous,
});
