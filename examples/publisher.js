// Publishes "こんにちわ" and a timestamp every second, with a user name and password.
// Run: node examples/publisher.js         (PORT=1884 node examples/publisher.js)
// TODO: switch to the hato client (@hato/client) once it lands; MQTT.js for now.
import mqtt from 'mqtt';

const port = Number(process.env.PORT ?? 1883);
const client = mqtt.connect({ host: process.env.HOST ?? '127.0.0.1', port, username: 'alice', password: 'secret', clientId: 'publisher' });

client.on('connect', () => {
  console.log(`publisher connected to port ${port}`);
  const timer = setInterval(() => {
    client.publish('hello/world', 'こんにちわ', { qos: 1 });
    client.publish('hello/time', new Date().toISOString(), { qos: 0 });
  }, 1000);
  client.once('close', () => clearInterval(timer));
});
client.on('error', (err) => {
  console.error(`publisher: ${err.message}`);
  process.exitCode = 1;
});
process.once('SIGINT', () => client.end());
process.once('SIGTERM', () => client.end());
