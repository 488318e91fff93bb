// The floor for bench/connections.js: a bare Node TCP server that answers the first bytes of
// each connection (a CONNECT) with a fixed 3.1.1 CONNACK and keeps the socket open, idle.
import net from 'node:net';

const CONNACK = Buffer.from([0x20, 0x02, 0x00, 0x00]);
const server = net.createServer((socket) => {
  socket.once('data', () => socket.write(CONNACK));
  socket.on('error', () => socket.destroy());
});
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('message', (msg) => {
  if (msg.cmd === 'stop') process.exit(0);
});
