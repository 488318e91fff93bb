// Load-generator process: N subscriber connections. Counts delivered PUBLISH packets and
// acknowledges QoS 1 ones (PUBACKs of one chunk are batched into one write).
// Driven over IPC by bench/run.js: {cmd:'start', port, topics, qos} → {ready}; {cmd:'count'} → {count, cpu}.
import net from 'node:net';
import { connect, Scanner, subscribe } from './raw.js';

let count = 0;
const sockets = [];

function openSubscriber(port, clientId, topic, qos, clean) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
    let subscribed = false;
    const scanner = new Scanner((first, buf, start) => {
      const type = first >> 4;
      if (type === 3) {
        count++;
        const pqos = (first >> 1) & 3;
        if (pqos > 0) {
          const tlen = (buf[start] << 8) | buf[start + 1];
          const id = start + 2 + tlen;
          acks.push(0x40, 2, buf[id], buf[id + 1]);
        }
      } else if (type === 9 && !subscribed) {
        subscribed = true;
        resolve(socket);
      }
    });
    let acks = [];
    socket.on('data', (chunk) => {
      scanner.push(chunk);
      if (acks.length > 0) {
        socket.write(Buffer.from(acks));
        acks = [];
      }
    });
    socket.on('error', reject);
    socket.write(Buffer.concat([connect(clientId, clean), subscribe(1, topic, qos)]));
    sockets.push(socket);
  });
}

process.on('message', async (msg) => {
  if (msg.cmd === 'start') {
    await Promise.all(msg.topics.map((t, i) => openSubscriber(msg.port, `${msg.prefix}-${i}`, t, msg.qos, msg.clean ?? true)));
    process.send({ ready: true });
  } else if (msg.cmd === 'count') {
    const cpu = process.cpuUsage();
    process.send({ count, cpuMicros: cpu.user + cpu.system });
  } else if (msg.cmd === 'stop') {
    for (const s of sockets) s.destroy();
    process.exit(0);
  }
});
