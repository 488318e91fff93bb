// Publishes "こんにちわ" and a timestamp every second, with a user name and password,
// using the hato client.
// Run: node examples/publisher.js         (PORT=1884 node examples/publisher.js)
import { connect } from 'hato';

const port = Number(process.env.PORT ?? 1883);
const host = process.env.HOST ?? '127.0.0.1';
const client = connect(`mqtt://${host}:${port}`, { username: 'alice', password: 'secret', clientId: 'publisher' });

let timer;
client.on('connect', () => {
  console.log(`publisher connected to port ${port}`);
  clearInterval(timer);
  timer = setInterval(() => {
    client.publish('hello/world', 'こんにちわ', { qos: 1 }).catch((err) => console.error(`publish: ${err.message}`));
    client.publish('hello/time', new Date().toISOString(), { qos: 0 });
  }, 1000);
});
client.on('offline', () => clearInterval(timer));
client.on('error', (err) => {
  console.error(`publisher: ${err.message}`);
  process.exitCode = 1;
});
const stop = async () => {
  clearInterval(timer);
  await client.end();
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
