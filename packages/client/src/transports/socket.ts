/**
 * MQTT over TCP and TLS (Node only: imported by the `@hato/client/node` entry, never by
 * the browser entry).
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { ClientOptions, Target } from '../options.js';
import { TransportError } from '../errors.js';
import type { Transport, TransportFactory, TransportHandlers } from '../transport.js';

const READ_BUFFER = 64 * 1024;

function wrap(
  socket: net.Socket,
  readyEvent: 'connect' | 'secureConnect',
  handlers: TransportHandlers,
  viaOnread: boolean,
): Transport {
  let error: Error | undefined;
  socket.setNoDelay(true);
  socket.once(readyEvent, () => handlers.onOpen());
  if (!viaOnread) socket.on('data', (chunk: Uint8Array) => handlers.onData(chunk));
  socket.on('error', (err: Error) => {
    error = new TransportError(err.message, { cause: err });
  });
  socket.once('close', () => handlers.onClose(error));
  // Back-pressure: 'drain' comes only after a write() that returned false (the socket's
  // own 16 KiB mark); the write callback also covers a buffer that empties below it.
  let drainWanted = false;
  const written = () => {
    if (drainWanted && socket.writableLength === 0) {
      drainWanted = false;
      handlers.onDrain?.();
    }
  };
  socket.on('drain', written);
  return {
    write: (data) => {
      if (!socket.destroyed) socket.write(data, written);
    },
    end: () => socket.end(),
    destroy: () => socket.destroy(),
    bufferedAmount: () => socket.writableLength,
    watchDrain: () => {
      drainWanted = true;
      if (socket.writableLength === 0) queueMicrotask(written);
    },
  };
}

/** TLS options for `tls.connect` (and `ws` over wss) from the client options. */
export function tlsOptions(target: Target, options: ClientOptions): tls.ConnectionOptions {
  const o: tls.ConnectionOptions = { rejectUnauthorized: options.rejectUnauthorized ?? true };
  if (options.ca !== undefined) o.ca = options.ca as tls.ConnectionOptions['ca'];
  if (options.cert !== undefined) o.cert = options.cert as tls.ConnectionOptions['cert'];
  if (options.key !== undefined) o.key = options.key as tls.ConnectionOptions['key'];
  const servername = options.servername ?? (net.isIP(target.host) === 0 ? target.host : undefined);
  if (servername !== undefined) o.servername = servername;
  return o;
}

/**
 * TCP reads go through `onread` into one reused buffer, skipping the Readable stream
 * machinery (a busy QoS 1 publisher gets a small chunk of acks per read). The decoder
 * may keep views into a chunk (payloads, a partial packet), so each read is copied out.
 */
export const tcpTransport: TransportFactory = (target, _options, handlers) => {
  const readBuffer = new Uint8Array(READ_BUFFER);
  const socket = net.connect({
    host: target.host,
    port: target.port,
    onread: {
      buffer: readBuffer,
      callback: (n: number) => {
        handlers.onData(readBuffer.slice(0, n));
        return true;
      },
    },
  });
  return wrap(socket, 'connect', handlers, true);
};

export const tlsTransport: TransportFactory = (target, options, handlers) =>
  wrap(
    tls.connect({ host: target.host, port: target.port, ...tlsOptions(target, options) }),
    'secureConnect',
    handlers,
    false,
  );
