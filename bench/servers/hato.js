// Runs hato's broker in its own process for the benchmark; reports its port over IPC.
import { Broker } from '@hato/broker';

const broker = new Broker();
const { port } = await broker.listen({ port: 0, host: '127.0.0.1' });
process.send({ port });
process.on('message', async (msg) => {
  if (msg.cmd === 'stop') {
    await broker.close();
    process.exit(0);
  }
});
