import type { StoredMessage } from './persistence.js';

/**
 * The port to other broker nodes (a later issue adds Redis). The core publishes every
 * routed message once; the bus hands messages from other nodes back to `onMessage`,
 * which routes them locally only.
 */
export interface ClusterBus {
  /** Called once by the broker with its handler for messages from other nodes. */
  start(onMessage: (message: StoredMessage) => void): void | Promise<void>;
  publish(message: StoredMessage): void;
  close(): void | Promise<void>;
}

/** A single node: nothing to tell anyone. */
export class LocalClusterBus implements ClusterBus {
  start(_onMessage: (message: StoredMessage) => void): void {}
  publish(_message: StoredMessage): void {}
  close(): void {}
}
