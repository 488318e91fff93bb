// The invariant's second half: a healthy client still connects, subscribes and gets
// QoS 0, 1 and 2 messages end to end (over TCP, 3.1.1 and 5.0), and the WebSocket
// listener still completes a session.
import { connectAndHandshake, RawClient } from '@hato/testkit';
import { createWebSocketStream, WebSocket } from 'ws';

let serial = 0;

async function qosRoundTrip(port, version) {
  const id = `health-${process.pid}-${++serial}`;
  // A '$' topic: no fuzz session's wildcard ('#', '+/#') matches it [MQTT-4.7.2-1]. A fuzz
  // session may be persistent, subscribed to '#', and stored in a store that refuses its
  // changes on purpose (child.js); a QoS 1/2 message for it cannot be stored, so by the
  // durability rule its publisher gets no ack. That is the designed outcome for those
  // sessions' publishers, not a broker that stopped serving an independent client.
  const topic = `$health/${id}`;
  const sub = await connectAndHandshake(port, { version, clientId: `${id}-sub` });
  const pub = await connectAndHandshake(port, { version, clientId: `${id}-pub` });
  try {
    await sub.subscribe(topic, { qos: 2 });
    for (const qos of [0, 1, 2]) {
      await pub.publishAcked({ topic, payload: `q${qos}`, qos });
      const got = await sub.takePacket('publish', (p) => p.topic === topic && p.text === `q${qos}`);
      if (got.qos !== qos) throw new Error(`QoS ${qos} message arrived at QoS ${got.qos}`);
      await sub.ack(got);
    }
    sub.disconnect();
    pub.disconnect();
  } finally {
    sub.destroy();
    pub.destroy();
  }
}

async function overWebSocket(wsPort) {
  const ws = new WebSocket(`ws://127.0.0.1:${wsPort}/mqtt`, 'mqtt');
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const client = new RawClient(createWebSocketStream(ws), 4);
  try {
    const topic = `$health/ws-${process.pid}-${++serial}`;
    await client.handshake({ version: 4, clientId: `ws-${process.pid}-${serial}` });
    await client.subscribe(topic, { qos: 1 });
    await client.publishAcked({ topic, payload: 'ws', qos: 1 });
    const got = await client.takePacket('publish', (p) => p.topic === topic);
    await client.ack(got);
    client.disconnect();
  } finally {
    client.destroy();
    ws.terminate();
  }
}

/** Throws (with what failed) unless the broker at `target` serves healthy clients. */
export async function checkHealth(target) {
  await qosRoundTrip(target.port, 4);
  await qosRoundTrip(target.port, 5);
  if (target.wsPort !== undefined) await overWebSocket(target.wsPort);
}
