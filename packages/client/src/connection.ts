/**
 * One network connection attempt: transport + decoder + write buffer. Reports
 * packets and its end to the client; knows nothing about sessions or flows.
 */
import { DecodeError, Decoder, type Packet, type ProtocolVersion } from '@hato/protocol';
import type { KeepAlive } from './keepalive.js';
import { legacyConnackCode } from './version-fallback.js';
import type { ClientOptions, Target } from './options.js';
import type { Transport, TransportFactory } from './transport.js';
import { WriteBuffer } from './write-buffer.js';

export interface ConnectionHost {
  onOpen(connection: Connection): void;
  onPacket(connection: Connection, packet: Packet): void;
  /** The server sent bytes that break the spec. */
  onDecodeError(connection: Connection, error: DecodeError): void;
  /** Called once, whoever closed. */
  onClose(connection: Connection, error: Error | undefined): void;
  /** Speaking 5.0, the first bytes were a 3.x CONNACK refusal with this return code. */
  onLegacyConnack(connection: Connection, returnCode: number): void;
  /** After `watchDrain()`: every byte written so far has been sent. */
  onDrain(connection: Connection): void;
}

export class Connection {
  private readonly decoder: Decoder;
  private readonly writer: WriteBuffer;
  private readonly transport: Transport;
  private closed = false;
  /** The first chunk, kept until the first packet decodes (to recognise a 3.x CONNACK). */
  private head: Uint8Array | undefined;
  private sawPacket = false;
  private closeError: Error | undefined;

  constructor(
    factory: TransportFactory,
    readonly target: Target,
    options: ClientOptions,
    readonly version: ProtocolVersion,
    private readonly host: ConnectionHost,
    private readonly keepalive: KeepAlive,
  ) {
    const decoderOptions: { protocolVersion: ProtocolVersion; maximumPacketSize?: number } = { protocolVersion: version };
    const max = options.properties?.maximumPacketSize;
    if (max !== undefined) decoderOptions.maximumPacketSize = max;
    this.decoder = new Decoder(decoderOptions);
    this.writer = new WriteBuffer((chunk) => {
      this.transport.write(chunk);
      this.keepalive.sent();
    }, version);
    // Nothing thrown while handling the server's bytes may escape into the socket's
    // callbacks: it ends this connection, and the client reports it and reconnects.
    this.transport = factory(target, options, {
      onOpen: () => this.guard(() => this.host.onOpen(this)),
      onData: (chunk) => this.guard(() => this.onData(chunk)),
      onClose: (error) => this.finish(error),
      onDrain: () => this.guard(() => this.host.onDrain(this)),
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Bytes not sent yet: encoded but not handed to the transport, plus the transport's buffer. */
  get buffered(): number {
    return this.writer.pending + (this.transport.bufferedAmount?.() ?? 0);
  }

  /** Hands what is encoded to the transport and asks for `onDrain` once it is all sent. */
  watchDrain(): void {
    if (this.closed) return;
    this.writer.flush();
    if (this.transport.watchDrain !== undefined) this.transport.watchDrain();
    else queueMicrotask(() => this.guard(() => this.host.onDrain(this))); // nothing to wait for
  }

  send(packet: Packet): void {
    if (this.closed) return;
    this.writer.write(packet);
  }

  /** Flushes, then closes gracefully. */
  end(): void {
    if (this.closed) return;
    this.writer.flush();
    this.transport.end();
  }

  /** Closes at once; `error` is what the client reports as the cause. */
  destroy(error?: Error): void {
    if (this.closed) return;
    this.closeError ??= error;
    this.writer.discard();
    this.transport.destroy();
    this.finish(error);
  }

  private guard(handle: () => void): void {
    if (this.closed) return;
    try {
      handle();
    } catch (err) {
      this.destroy(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private onData(chunk: Uint8Array): void {
    if (!this.sawPacket) this.head ??= chunk;
    this.keepalive.received();
    this.decoder.push(chunk);
    for (;;) {
      let packet: Packet | null;
      try {
        packet = this.decoder.next();
      } catch (err) {
        const legacy = this.sawPacket || this.version !== 5 ? undefined : legacyConnackCode(this.head);
        if (legacy !== undefined) this.host.onLegacyConnack(this, legacy);
        else if (err instanceof DecodeError) this.host.onDecodeError(this, err);
        else throw err;
        return;
      }
      if (packet === null) return;
      if (!this.sawPacket) {
        this.sawPacket = true;
        this.head = undefined;
      }
      this.host.onPacket(this, packet);
      if (this.closed) return;
    }
  }

  private finish(error: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.keepalive.stop();
    this.host.onClose(this, this.closeError ?? error);
  }
}
