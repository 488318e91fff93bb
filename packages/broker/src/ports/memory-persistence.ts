import type { Persistence, SessionRecord, StoredMessage } from './persistence.js';

/**
 * The default Persistence: plain maps. Share one instance between two Broker instances
 * in sequence and the second restores the first's sessions and retained messages.
 */
export class MemoryPersistence implements Persistence {
  private readonly retained = new Map<string, StoredMessage>();
  private readonly sessions = new Map<string, SessionRecord>();

  loadRetained(): StoredMessage[] {
    return [...this.retained.values()];
  }

  setRetained(message: StoredMessage): void {
    this.retained.set(message.topic, message);
  }

  deleteRetained(topic: string): void {
    this.retained.delete(topic);
  }

  loadSessions(): SessionRecord[] {
    return [...this.sessions.values()];
  }

  saveSession(record: SessionRecord): void {
    this.sessions.set(record.clientId, record);
  }

  deleteSession(clientId: string): void {
    this.sessions.delete(clientId);
  }
}
