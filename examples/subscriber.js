// Prints every message published under hello/, using the hato client.
// Run: node examples/subscriber.js        (PORT=1884 node examples/subscriber.js)
import { connect } from 'hato';

const port = Number(process.env.PORT ?? 1883);
const host = process.env.HOST ?? '127.0.0.1';
const client = connect(`mqtt://${host}:${port}`, { username: 'bob', password: 'secret', clientId: 'subscriber' });
const text = new TextDecoder();

client.on('connect', async () => {
  await client.subscribe('hello/#', { qos: 1 });
  console.log(`subscriber listening on hello/# (port ${port})`);
});
client.on('message', (topic, payload) => {
  console.log(`${topic}: ${text.decode(payload)}`);
});
client.on('error', (err) => {
  console.error(`subscriber: ${err.message}`);
  process.exitCode = 1;
});
const stop = () => client.end();
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
