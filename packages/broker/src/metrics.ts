/**
 * Counters the broker core keeps for operators: plain integers the core bumps and a $SYS
 * or Prometheus exporter reads (`broker.metrics`). Nothing here does I/O or allocates on
 * the message path.
 */
export class BrokerMetrics {
  /** Connections closed by the broker because of an error, by the 5.0 reason code behind it. */
  readonly closedByReason = new Uint32Array(256);
  /** Connections closed because the broker itself failed while serving them (a bug, a hook or adapter that threw). */
  internalErrors = 0;
  /** Persistence writes that failed (thrown or rejected); logged, never thrown into a connection. */
  persistenceErrors = 0;
  /** Connections that could not even be closed cleanly (the close path itself threw) and were destroyed. */
  abortedConnections = 0;
  /** PUBLISH packets received from clients (before authorization and limits). */
  messagesReceived = 0;
  /** PUBLISH packets handed to client sockets. */
  messagesSent = 0;
  /** Bytes read from client streams. */
  bytesReceived = 0;
  /** Bytes handed to client streams. */
  bytesSent = 0;
  /** Clients connected now (CONNECT accepted), and the most at once since start. */
  clientsConnected = 0;
  clientsMaximum = 0;
  /** Cluster: messages handed to other nodes (one per node that gets it), and received from them. */
  clusterMessagesOut = 0;
  clusterMessagesIn = 0;

  /** A CONNECT was accepted (called once per connected client). */
  clientConnected(): void {
    if (++this.clientsConnected > this.clientsMaximum) this.clientsMaximum = this.clientsConnected;
  }

  /** Total connections closed because of an error. */
  get connectionErrors(): number {
    let total = 0;
    for (const n of this.closedByReason) total += n;
    return total;
  }

  /** `{ '0x82': 3, ... }` for the reason codes seen so far. */
  closedByReasonCode(): Record<string, number> {
    const out: Record<string, number> = {};
    this.closedByReason.forEach((n, code) => {
      if (n !== 0) out[`0x${code.toString(16).padStart(2, '0')}`] = n;
    });
    return out;
  }
}
