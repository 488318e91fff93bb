// A broker embedded in an application: logs who connects and what is published.
// Run: node examples/broker.js            (PORT=1884 node examples/broker.js for another port)
import { Broker } from 'hato';

const port = Number(process.env.PORT ?? 1883);

const broker = new Broker({
  hooks: {
    // Only alice/secret may connect (the publisher uses these; the subscriber connects as bob).
    authenticate: (_client, username, password) => {
      const pass = password === undefined ? '' : Buffer.from(password).toString();
      return (username === 'alice' && pass === 'secret') || (username === 'bob' && pass === 'secret');
    },
  },
});

broker.on('clientConnected', (client) => {
  console.log(`client connected: ${client.id} (MQTT level ${client.protocolVersion})`);
});
broker.on('published', (packet, client) => {
  console.log(`published on ${packet.topic} by ${client?.id ?? 'the broker'}: ${Buffer.from(packet.payload).toString()}`);
});

const listener = await broker.listen({ port, host: process.env.HOST ?? '0.0.0.0' });
console.log(`broker listening on port ${listener.port}`);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    await broker.close();
    process.exit(0);
  });
}
