/**
 * An in-process byte pipe between a client transport and the fuzz broker: what TCP on
 * loopback does, without a socket, a connect or an accept per connection (most of the
 * fuzzer's cost). Each side's writes arrive on the other side in a later macrotask
 * (setImmediate), one `onData` per written chunk, so the broker's chunking reaches the
 * client's parser exactly as cut. Closing follows a socket without half-open: `end()`
 * delivers what was written, then both sides close; `destroy()` closes at once (the
 * other side sees a reset: the client gets a TransportError).
 */
import { TransportError, type Transport, type TransportHandlers } from '../../src/node.js';

/** The broker's end of a connection: the part of `net.Socket` the fuzz broker uses. */
export interface Wire {
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
  write(bytes: Uint8Array): void;
  end(): void;
  destroy(): void;
}

export interface WireHandlers {
  onData(chunk: Uint8Array): void;
  onClose(): void;
}

type Side = 'client' | 'server';

export class MemoryPipe {
  private readonly toServer: Uint8Array[] = [];
  private readonly toClient: Uint8Array[] = [];
  private scheduled = false;
  /** Bytes the client wrote that the server has not read yet (the transport's bufferedAmount). */
  private unread = 0;
  private drainWanted = false;
  /** Set by end(): close once the queued bytes are delivered. */
  private ending = false;
  private closed = false;
  private resetBy: Side | undefined;
  server: WireHandlers | undefined;

  constructor(
    private readonly client: TransportHandlers,
    /** Called once the client side is open: the broker attaches its handlers to `wire`. */
    accept: (wire: Wire, pipe: MemoryPipe) => void,
  ) {
    setImmediate(() => {
      if (this.closed) return;
      this.client.onOpen();
      if (!this.closed) accept(this.wire, this);
    });
  }

  readonly transport: Transport = {
    write: (data) => {
      if (this.closed || this.ending) return;
      this.toServer.push(data);
      this.unread += data.length;
      this.schedule();
    },
    bufferedAmount: () => this.unread,
    watchDrain: () => {
      this.drainWanted = true;
      this.schedule();
    },
    end: () => {
      if (this.closed) return;
      this.ending = true;
      this.schedule();
    },
    destroy: () => this.reset('client'),
  };

  readonly wire: Wire = this.serverEnd();

  private serverEnd(): Wire {
    const self = this;
    return {
      get destroyed() {
        return self.closed;
      },
      get writableEnded() {
        return self.closed || self.ending;
      },
      write: (bytes) => {
        if (this.closed || this.ending) return;
        this.toClient.push(bytes);
        this.schedule();
      },
      end: () => {
        if (this.closed) return;
        this.ending = true;
        this.schedule();
      },
      destroy: () => this.reset('server'),
    };
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.deliver);
  }

  private readonly deliver = () => {
    this.scheduled = false;
    // Each side reads what the other wrote before this turn; writes made while handling
    // it go out in the next turn, as with a socket.
    const toServer = this.toServer.splice(0);
    const toClient = this.toClient.splice(0);
    for (const chunk of toServer) {
      if (this.closed) return;
      this.unread -= chunk.length;
      this.server?.onData(chunk);
    }
    if (this.drainWanted && this.unread === 0 && !this.closed) {
      this.drainWanted = false;
      this.client.onDrain?.();
    }
    for (const chunk of toClient) {
      if (this.closed) return;
      this.client.onData(chunk);
    }
    if (this.closed) return;
    if (this.toServer.length > 0 || this.toClient.length > 0) this.schedule();
    else if (this.ending) this.close(undefined);
  };

  private reset(by: Side): void {
    if (this.closed) return;
    this.resetBy = by;
    this.close(by === 'server' ? new TransportError('read ECONNRESET (memory pipe)') : undefined);
  }

  private close(clientError: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.toServer.length = 0;
    this.toClient.length = 0;
    // Both sides hear of it after the current call returns, as a socket's 'close'.
    setImmediate(() => {
      this.server?.onClose();
      this.client.onClose(clientError);
    });
  }

  /** Who reset the connection, if it was reset (for tests of the pipe itself). */
  get resetSide(): Side | undefined {
    return this.resetBy;
  }
}
