/**
 * A transport is bytes in, bytes out, close. The client never sees sockets: it gets
 * one of these per connection attempt from the factory registered for the URL scheme.
 */
import type { ClientOptions, Scheme, Target } from './options.js';

export interface TransportHandlers {
  /** The byte stream is ready (TCP connected, TLS handshake done, WebSocket open). */
  onOpen(): void;
  onData(chunk: Uint8Array): void;
  /** Called exactly once, after an error or a close from either side. */
  onClose(error?: Error): void;
  /** After `watchDrain()`: everything written has been sent (called once per watch). */
  onDrain?(): void;
}

export interface Transport {
  write(data: Uint8Array): void;
  /** Sends what is buffered, then closes. */
  end(): void;
  /** Closes at once. */
  destroy(): void;
  /**
   * Bytes accepted by `write` but not sent yet (Node: the socket's `writableLength`;
   * WebSocket: `bufferedAmount`). Without it the client sees only its own buffer.
   */
  bufferedAmount?(): number;
  /** Call `onDrain` once `bufferedAmount()` is back to 0 (at once, asynchronously, if it is 0). */
  watchDrain?(): void;
}

export type TransportFactory = (target: Target, options: ClientOptions, handlers: TransportHandlers) => Transport;
export type TransportFactories = Partial<Record<Scheme, TransportFactory>>;
