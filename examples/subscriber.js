// Prints every message published under hello/.
// Run: node examples/subscriber.js        (PORT=1884 node examples/subscriber.js)
// TODO: switch to the hato client (@hato/client) once it lands; MQTT.js for now.
import mqtt from 'mqtt';

const port = Number(process.env.PORT ?? 1883);
const client = mqtt.connect({ host: process.env.HOST ?? '127.0.0.1', port, username: 'bob', password: 'secret', clientId: 'subscriber' });

client.on('connect', () => {
  client.subscribe('hello/#', { qos: 1 }, (err) => {
    if (err) throw err;
    console.log(`subscriber listening on hello/# (port ${port})`);
  });
});
client.on('message', (topic, payload) => {
  console.log(`${topic}: ${payload.toString()}`);
});
client.on('error', (err) => {
  console.error(`subscriber: ${err.message}`);
  process.exitCode = 1;
});
process.once('SIGINT', () => client.end());
process.once('SIGTERM', () => client.end());
