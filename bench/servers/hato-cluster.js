// One hato cluster node for bench/cluster.js, in its own process:
//   node bench/servers/hato-cluster.js redis://HOST:PORT/DB PREFIX NODE_ID [standalone]
// Redis persistence and RedisClusterBus on the same Redis (what `hato broker --cluster` runs),
// no logging. With `standalone`: the Redis persistence only, no cluster (the control run: what
// separate brokers do on this machine). Reports { port } over IPC once listening; answers { cmd: 'status' } with
// { status: { up, nodes, dropped, droppedQoS0 } } (nodes: the other live nodes; dropped: the
// delivery policies' drops, broker.delivery.dropped).
import { Broker } from '@hato/broker';
import { RedisClusterBus, RedisPersistence } from '@hato/redis';

const [url, prefix, nodeId, mode] = process.argv.slice(2);
const persistence = await RedisPersistence.open(url, { prefix });
const clusterBus = mode === 'standalone' ? undefined : new RedisClusterBus({ url, prefix, nodeId });
const broker = new Broker({ persistence, clusterBus, maxMemoryBytes: 2 ** 31 });
await broker.whenReady();
const { port } = await broker.listen({ port: 0, host: '127.0.0.1' });
process.send({ port });
process.on('message', async (msg) => {
  if (msg.cmd === 'status') process.send({ status: { up: broker.cluster.up, nodes: [...broker.cluster.nodes], dropped: broker.delivery.dropped, droppedQoS0: broker.memory.droppedQoS0 } });
  else if (msg.cmd === 'stop') {
    await broker.close();
    process.exit(0);
  }
});
