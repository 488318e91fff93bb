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
  /** Bytes queued by send() and not yet sent (browsers and `ws`). */
  readonly bufferedAmount?: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export type WebSocketConstructor = new (url: string, protocols: string | string[], options?: never) => WebSocketLike;

/** A WebSocket has no drain event: while a drain is awaited, `bufferedAmount` is polled this often (ms). */
const DRAIN_POLL_MS = 5;

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
    clearTimeout(drainTimer);
    finish(error ?? (event.code === 1000 ? undefined : new TransportError(`WebSocket closed (${event.code})`)));
  };
  let drainTimer: ReturnType<typeof setTimeout> | undefined;
  const pollDrain = () => {
    drainTimer = undefined;
    if (closed) return;
    if ((ws.bufferedAmount ?? 0) === 0) handlers.onDrain?.();
    else drainTimer = setTimeout(pollDrain, DRAIN_POLL_MS);
  };
  return {
    write: (data) => {
      if (!closed) ws.send(data);
    },
    end: () => ws.close(1000),
    destroy: () => {
      clearTimeout(drainTimer);
      try {
        ws.close();
      } finally {
        finish(error);
      }
    },
    bufferedAmount: () => ws.bufferedAmount ?? 0,
    watchDrain: () => {
      if (drainTimer === undefined) drainTimer = setTimeout(pollDrain, (ws.bufferedAmount ?? 0) === 0 ? 0 : DRAIN_POLL_MS);
    },
  };
}
