/**
 * How `hato sub` and `hato pub` end, whatever state the connection is in. The first
 * cause wins and prints its one message (none for a signal); the exit code follows
 * mosquitto_sub / mosquitto_pub. Once a cause is chosen, SIGINT or SIGTERM again exits
 * at once, without waiting for the client to close.
 */
import { ConnectError, type MqttClient, ServerProtocolError } from '@hato/client/node';
import { report } from './client-connect.js';

/** mosquitto's text for MOSQ_ERR_PROTOCOL (exit code 2). */
export const PROTOCOL_ERROR_MESSAGE = 'Error: A network protocol error occurred when communicating with the broker.';
export const PROTOCOL_ERROR_CODE = 2;
/** MOSQ_ERR_CONN_LOST. */
export const CONNECTION_LOST_CODE = 7;

type Signal = 'SIGINT' | 'SIGTERM';

export class CliExit {
  /** Resolves with the exit code of the first cause. */
  readonly done: Promise<number>;
  private code: number | undefined;
  private resolve!: (code: number) => void;
  private readonly onSignal = (signal: Signal) => {
    if (this.code !== undefined) process.exit(this.code);
    this.finish(this.signalCode(signal));
  };

  constructor(
    private readonly quiet: boolean,
    /** Exit code for the first SIGINT / SIGTERM. */
    private readonly signalCode: (signal: Signal) => number,
  ) {
    this.done = new Promise((resolve) => {
      this.resolve = resolve;
    });
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  get finished(): boolean {
    return this.code !== undefined;
  }

  /** Chooses the exit code; only the first call counts (and prints its message). */
  finish(code: number, message?: string): void {
    if (this.code !== undefined) return;
    this.code = code;
    if (message !== undefined) report(this.quiet, message);
    this.resolve(code);
  }

  /** A broker that breaks the protocol ends the command as it ends mosquitto's (code 2). */
  onClientError(error: Error): void {
    if (error instanceof ServerProtocolError) this.finish(PROTOCOL_ERROR_CODE, PROTOCOL_ERROR_MESSAGE);
  }

  /**
   * Stops listening for signals. If anything still holds the event loop once the command
   * has returned its code, the process exits anyway shortly after.
   */
  dispose(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    const code = this.code ?? 0;
    setTimeout(() => process.exit(code), 500).unref();
  }
}

/**
 * The client gave up on its own (a connection lost with reconnect off, a refusal on
 * reconnect, a session taken over): the exit as mosquitto's, 7 for a lost connection.
 */
export function finishOnGiveUp(exit: CliExit, client: MqttClient): void {
  const s = client.state;
  const error = s.status === 'closed' ? s.error : undefined;
  if (error instanceof ServerProtocolError) exit.finish(PROTOCOL_ERROR_CODE, PROTOCOL_ERROR_MESSAGE);
  else if (error instanceof ConnectError) exit.finish(error.reasonCode || 1, `Connection error: ${error.message}`);
  else exit.finish(CONNECTION_LOST_CODE, 'Error: The connection was lost.');
}
