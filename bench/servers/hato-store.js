// Runs hato's broker on a given store in its own process for the persistence benchmark:
//   node bench/servers/hato-store.js memory | sqlite:FILE[:full] | redis://HOST:PORT[/DB]
// Reports over IPC { port, loadMs, rss, heapUsed, retained } once listening (loadMs: from
// opening the store to `ready`, i.e. the whole working set rebuilt).
import { Broker, MemoryPersistence } from '@hato/broker';

async function openStore(spec) {
  if (spec === 'memory') return new MemoryPersistence();
  if (spec.startsWith('sqlite:')) {
    const { SqlitePersistence } = await import('@hato/sqlite');
    const full = spec.endsWith(':full');
    return new SqlitePersistence(full ? spec.slice(7, -5) : spec.slice(7), { synchronous: full ? 'full' : 'normal' });
  }
  if (spec.startsWith('redis://')) {
    const { RedisPersistence } = await import('@hato/redis');
    return RedisPersistence.open(spec);
  }
  throw new Error(`unknown store ${spec}`);
}

const started = performance.now();
const persistence = await openStore(process.argv[2] ?? 'memory');
const broker = new Broker({ persistence, maxMemoryBytes: 2 ** 31 });
await broker.whenReady();
const loadMs = performance.now() - started;
const { port } = await broker.listen({ port: 0, host: '127.0.0.1' });
globalThis.gc?.();
const memory = process.memoryUsage();
process.send({ port, loadMs, rss: memory.rss, heapUsed: memory.heapUsed, retained: broker.retained.size });
process.on('message', async (msg) => {
  if (msg.cmd === 'stop') {
    await broker.close();
    process.exit(0);
  }
});
