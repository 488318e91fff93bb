// Load-generator process: N publisher connections sending pre-encoded PUBLISH packets.
// QoS 0: batches of BATCH publishes each followed by a PINGREQ; at most WINDOW batches are
// unanswered, so the publisher runs at the broker's pace instead of filling its buffers.
// QoS 1: a window of WINDOW unacknowledged publishes per connection, refilled on PUBACK.
import net from 'node:net';
import { connect, PINGREQ, publish, Scanner } from './raw.js';

const BATCH = 64;
const WINDOW = 16;
let running = false;
let sent = 0;
const sockets = [];

function openPublisher(port, clientId, topic, qos, payload, clean) {
  const template = publish(topic, payload, qos);
  const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
  const batch0 = Buffer.concat([...Array(BATCH).fill(template.bytes), PINGREQ]);
  let outstanding = 0;
  let nextId = 1;
  const sendQos0 = () => {
    while (running && outstanding < WINDOW) {
      outstanding++;
      sent += BATCH;
      socket.write(batch0);
    }
  };
  const sendQos1 = (n) => {
    if (!running) return;
    const out = Buffer.allocUnsafe(template.bytes.length * n);
    for (let i = 0; i < n; i++) {
      const off = i * template.bytes.length;
      template.bytes.copy(out, off);
      out[off + template.idOffset] = nextId >> 8;
      out[off + template.idOffset + 1] = nextId & 0xff;
      nextId = nextId === 65535 ? 1 : nextId + 1;
    }
    sent += n;
    socket.write(out);
  };
  let connected;
  const ready = new Promise((r) => (connected = r));
  const scanner = new Scanner((first) => {
    const type = first >> 4;
    if (type === 2) connected();
    else if (type === 13) {
      outstanding--;
      sendQos0();
    } else if (type === 4) acked++;
  });
  let acked = 0;
  socket.on('data', (chunk) => {
    acked = 0;
    scanner.push(chunk);
    if (acked > 0) sendQos1(acked);
  });
  socket.on('error', () => {});
  socket.write(connect(clientId, clean));
  sockets.push({ start: () => (qos === 0 ? sendQos0() : sendQos1(WINDOW * 4)) });
  return ready;
}

process.on('message', async (msg) => {
  if (msg.cmd === 'open') {
    const payload = Buffer.alloc(msg.payloadSize, 0x61);
    await Promise.all(msg.topics.map((t, i) => openPublisher(msg.port, `${msg.prefix}-${i}`, t, msg.qos, payload, msg.clean ?? true)));
    process.send({ ready: true });
  } else if (msg.cmd === 'go') {
    running = true;
    for (const s of sockets) s.start();
  } else if (msg.cmd === 'count') {
    const cpu = process.cpuUsage();
    process.send({ count: sent, cpuMicros: cpu.user + cpu.system });
  } else if (msg.cmd === 'stop') {
    running = false;
    process.exit(0);
  }
});
