// Node fallback for bench/load/connload.c (used when gcc is missing), same arguments and output:
//   node bench/load/connload.js PORT COUNT [--host H] [--sources K] [--window W] [--keepalive S] [--hold-max S]
// prints "ready <connected> <ms>" (or "error <message>") and holds the connections (each sending
// PINGREQ every keep alive period) until stdin ends or gets a line. Slower than the C program, so its accept times overstate the servers'.
import net from 'node:net';
import { connect } from './raw.js';

const [port, count] = process.argv.slice(2, 4).map(Number);
const opt = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? dflt : process.argv[i + 1];
};
const host = opt('host', '127.0.0.1');
const window = Number(opt('window', 200));
const keepAlive = Number(opt('keepalive', 60));
const sources = Number(opt('sources', 0)) || Math.ceil(count / 20000);
const holdMax = Number(opt('hold-max', 600));
const CONNACK = '20020000';
const PINGREQ = Buffer.from([0xc0, 0x00]);

const sockets = [];
let next = 0;
let open = 0;
let done = 0;
const start = performance.now();
const fail = (msg) => {
  console.log(`error ${msg}`);
  process.exit(1);
};

function openMore() {
  while (next < count && open < window) {
    const i = next++;
    open++;
    const bytes = connect(`cl${i}`);
    // 0x10, remaining length (< 128), "\0\4MQTT", level, flags, then the keep alive.
    bytes[10] = keepAlive >> 8;
    bytes[11] = keepAlive & 0xff;
    const localAddress = sources > 1 ? `127.0.0.${1 + (i % sources)}` : undefined;
    const socket = net.connect({ port, host, localAddress, noDelay: true }, () => socket.write(bytes));
    sockets.push(socket);
    let got = '';
    const onData = (chunk) => {
      got += chunk.toString('hex');
      if (got.length < 8) return;
      if (got !== CONNACK) fail(`connection ${i}: unexpected CONNACK ${got}`);
      socket.off('data', onData);
      // An idle client pings every keep alive period (the first after half of one).
      if (keepAlive > 0) {
        setTimeout(() => {
          socket.write(PINGREQ);
          setInterval(() => socket.write(PINGREQ), keepAlive * 1000).unref();
        }, keepAlive * 500).unref();
      }
      open--;
      if (++done === count) {
        console.log(`ready ${done} ${(performance.now() - start).toFixed(1)}`);
        hold();
      } else openMore();
    };
    socket.on('data', onData);
    socket.on('error', (err) => fail(`connection ${i}: ${err.message}`));
  }
}

function hold() {
  const end = () => process.exit(0);
  process.stdin.once('data', end).once('end', end).resume();
  setTimeout(end, holdMax * 1000).unref();
}

openMore();
