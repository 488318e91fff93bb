/**
 * MQTT over WebSocket (binary frames, subprotocol `mqtt`). Takes the WebSocket class
 * to use: the browser's `globalThis.WebSocket`, or the `ws` package in Node.
 */
import type { ClientOptions, Target } from '../options.js';
import { TransportError } from '../errors.js';
import type { Transport, TransportFactory, TransportHandlers } from '../transport.js';

/** The part of the WHATWG WebSocket API the transport uses (the `ws` package has it too). */
export interface WebSocketLike {
  binaryType: string;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export type WebSocketConstructor = new (url: string, protocols: string | string[], options?: never) => WebSocketLike;

/** The URL a target maps to, IPv6 hosts in brackets. */
export function webSocketUrl(target: Target): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  const path = target.path.startsWith('/') ? target.path : `/${target.path}`;
  return `${target.protocol}://${host}:${target.port}${path}`;
}

/**
 * `extraOptions` builds the third constructor argument (TLS options for `ws`);
 * browsers take no such argument.
 */
export function webSocketTransport(
  WebSocketClass: WebSocketConstructor,
  extraOptions?: (target: Target, options: ClientOptions) => unknown,
): TransportFactory {
  return (target, options, handlers) => openWebSocket(WebSocketClass, target, options, handlers, extraOptions);
}

function openWebSocket(
  WebSocketClass: WebSocketConstructor,
  target: Target,
  options: ClientOptions,
  handlers: TransportHandlers,
  extraOptions?: (target: Target, options: ClientOptions) => unknown,
): Transport {
  const url = webSocketUrl(target);
  const extra = extraOptions?.(target, options);
  const ws =
    extra === undefined ? new WebSocketClass(url, 'mqtt') : new WebSocketClass(url, 'mqtt', extra as never);
  ws.binaryType = 'arraybuffer';
  let closed = false;
  let error: Error | undefined;
  const finish = (err?: Error) => {
    if (closed) return;
    closed = true;
    handlers.onClose(err);
  };
  ws.onopen = () => handlers.onOpen();
  ws.onmessage = (event) => {
    const data = event.data;
    if (data instanceof ArrayBuffer) handlers.onData(new Uint8Array(data));
    else if (data instanceof Uint8Array) handlers.onData(data);
  };
  ws.onerror = (event) => {
    const message = (event as { message?: string }).message;
    error = new TransportError(`WebSocket error on ${url}${message ? `: ${message}` : ''}`);
  };
  ws.onclose = (event) => {
    finish(error ?? (event.code === 1000 ? undefined : new TransportError(`WebSocket closed (${event.code})`)));
  };
  return {
    write: (data) => {
      if (!closed) ws.send(data);
    },
    end: () => ws.close(1000),
    destroy: () => {
      try {
        ws.close();
      } finally {
        finish(error);
      }
    },
  };
}
