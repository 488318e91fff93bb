import type { SessionSubscription } from '../session/session.js';
import type { Persistence, PersistenceChange, SessionRecord, StoredMessage, StoredOutgoing, StoredState, StoredWill } from './persistence.js';

interface MemorySession {
  expiryInterval: number;
  disconnectedAt: number;
  readonly subscriptions: Map<string, SessionSubscription>;
  readonly messages: Map<number, StoredOutgoing>;
  readonly incomingQos2: Set<number>;
  will: StoredWill | undefined;
}

/**
 * The default Persistence: plain maps, committed synchronously. Nothing survives the process;
 * give two Broker instances in sequence the same instance and the second restores the
 * first's sessions and retained messages (what embedding and tests need).
 */
export class MemoryPersistence implements Persistence {
  private readonly retained = new Map<string, StoredMessage>();
  private readonly sessions = new Map<string, MemorySession>();

  load(): StoredState {
    const sessions: SessionRecord[] = [];
    for (const [clientId, session] of this.sessions) {
      sessions.push({
        clientId,
        expiryInterval: session.expiryInterval,
        disconnectedAt: session.disconnectedAt,
        subscriptions: [...session.subscriptions.values()],
        messages: [...session.messages.values()].sort((a, b) => a.seq - b.seq),
        incomingQos2: [...session.incomingQos2],
        will: session.will,
      });
    }
    return { retained: [...this.retained.values()], sessions };
  }

  commit(batch: readonly PersistenceChange[]): void {
    for (const change of batch) this.apply(change);
  }

  private apply(change: PersistenceChange): void {
    switch (change.op) {
      case 'retain':
        this.retained.set(change.message.topic, change.message);
        return;
      case 'unretain':
        this.retained.delete(change.topic);
        return;
      case 'session': {
        const session = this.sessions.get(change.clientId);
        if (session === undefined) {
          this.sessions.set(change.clientId, {
            expiryInterval: change.expiryInterval,
            disconnectedAt: change.disconnectedAt,
            subscriptions: new Map(),
            messages: new Map(),
            incomingQos2: new Set(),
            will: undefined,
          });
          return;
        }
        session.expiryInterval = change.expiryInterval;
        session.disconnectedAt = change.disconnectedAt;
        return;
      }
      case 'end-session':
        this.sessions.delete(change.clientId);
        return;
    }
    // The others change a session; one never created (or ended) ignores them.
    const session = this.sessions.get(change.clientId);
    if (session === undefined) return;
    switch (change.op) {
      case 'subscribe':
        session.subscriptions.set(change.subscription.topicFilter, change.subscription);
        return;
      case 'unsubscribe':
        session.subscriptions.delete(change.topicFilter);
        return;
      case 'message':
        session.messages.set(change.entry.seq, change.entry);
        return;
      case 'message-state': {
        const entry = session.messages.get(change.seq);
        if (entry !== undefined) session.messages.set(change.seq, { ...entry, packetId: change.packetId, state: change.state });
        return;
      }
      case 'message-done':
        session.messages.delete(change.seq);
        return;
      case 'qos2-received':
        session.incomingQos2.add(change.packetId);
        return;
      case 'qos2-released':
        session.incomingQos2.delete(change.packetId);
        return;
      case 'will':
        session.will = change.will;
        return;
      case 'will-done':
        session.will = undefined;
        return;
    }
  }
}
