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
}

export interface Transport {
  write(data: Uint8Array): void;
  /** Sends what is buffered, then closes. */
  end(): void;
  /** Closes at once. */
  destroy(): void;
}

export type TransportFactory = (target: Target, options: ClientOptions, handlers: TransportHandlers) => Transport;
export type TransportFactories = Partial<Record<Scheme, TransportFactory>>;
