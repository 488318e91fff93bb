// Plays one case over a fresh socket: writes its chunks at its pace, then ends the
// connection its way, and resolves once the socket is closed (or after `timeoutMs`).
import net from 'node:net';

const noop = () => {};

/**
 * Resolves { closedByBroker, timedOut }: closedByBroker when the broker ended the connection
 * before this side did (with `close: 'none'`, the case waits for that, as regression tests do).
 */
export function runCase(target, c, timeoutMs = 5000) {
  return new Promise((resolve) => {
    const port = c.transport === 'ws' ? target.wsPort : target.port;
    const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
    let ended = false;
    let closedByBroker = false;
    let done = false;
    const finish = (timedOut) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (!socket.destroyed) socket.destroy();
      resolve({ closedByBroker, timedOut });
    };
    const timer = setTimeout(() => finish(true), timeoutMs);
    socket.on('error', noop);
    socket.on('end', () => {
      if (!ended) closedByBroker = true;
    });
    socket.on('close', () => {
      if (!ended) closedByBroker = true;
      finish(false);
    });

    let next = 0;
    const end = () => {
      if (socket.destroyed) return;
      if (c.close === 'none') return;
      ended = true;
      if (c.close === 'rst') socket.resetAndDestroy();
      else if (c.close === 'linger') setTimeout(() => socket.end(), 20);
      // Stays connected a while, so messages other cases publish reach it.
      else if (c.close === 'hold') setTimeout(() => socket.end(), c.holdMs ?? 300);
      else if (c.close === 'stall') {
        // A slow consumer: stops reading, so the broker's writes to it back up.
        socket.pause();
        setTimeout(() => {
          socket.resume();
          socket.end();
        }, c.holdMs ?? 300);
      }
      else socket.end();
    };
    const writeNext = () => {
      if (socket.destroyed) return;
      if (next >= c.chunks.length) return end();
      socket.write(c.chunks[next++]);
      if (c.pace === 'sync') writeNext();
      else if (c.pace === 'timer') setTimeout(writeNext, 1);
      else setImmediate(writeNext);
    };
    if (c.waitUpgrade) {
      // Send the upgrade request alone, and the frames once the response headers are in.
      let head = '';
      const onData = (chunk) => {
        head += chunk.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        socket.off('data', onData);
        socket.on('data', noop);
        writeNext();
      };
      socket.on('data', onData);
      socket.once('connect', () => socket.write(c.chunks[next++]));
    } else {
      socket.on('data', noop);
      socket.once('connect', writeNext);
    }
  });
}
