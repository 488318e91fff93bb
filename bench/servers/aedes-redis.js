// Runs Aedes with aedes-persistence-redis (the reference for hato's Redis persistence) in its
// own process for the benchmark. The Redis URL comes in argv[2]; reports its port over IPC.
import net from 'node:net';
import { Aedes } from 'aedes';
import aedesPersistenceRedis from 'aedes-persistence-redis';

const url = new URL(process.argv[2]);
const persistence = aedesPersistenceRedis({ host: url.hostname, port: Number(url.port), db: Number(url.pathname.slice(1) || 0) });
const aedes = await Aedes.createBroker({ persistence });
const server = net.createServer(aedes.handle);
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('message', (msg) => {
  if (msg.cmd === 'stop') aedes.close(() => process.exit(0));
});
