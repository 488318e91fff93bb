import type { Persistence, PersistenceChange } from './ports/persistence.js';

/** What the journal needs from a connection whose acks wait for a commit. */
export interface CommitWaiter {
  /** The journal position its held acks need (see `Journal.position`). */
  readonly commitPosition: number;
  /** Everything it waited for is stored: its held acks go out. */
  commitDone(): void;
  /** The commit it waited for failed: its held acks must never go out. */
  commitFailed(err: unknown): void;
}

/**
 * Write-through with group commit [DESIGN: Durable state]. Handlers `record` each change of
 * durable state as they make it; the changes of one event-loop turn go to the Persistence in
 * one `commit(batch)` (on setImmediate, after every read of the turn), one commit at a time:
 * while an async commit runs, the next batch grows. Acks that must not leave before the
 * changes they follow are stored wait for `position` to be committed (Connection).
 *
 * Nothing is recorded for sessions that end with their connection (expiry 0), so the clean
 * path pays one integer comparison per ack (`idle`) and nothing else.
 */
export class Journal {
  private readonly persistence: Persistence;
  private readonly onError: (err: unknown) => void;
  private batch: PersistenceChange[] = [];
  /** Changes recorded since start, and how many of them are stored (or failed). */
  private recorded = 0;
  private committed = 0;
  private committing = false;
  private scheduled = false;
  private waiters: CommitWaiter[] = [];
  private flushes: (() => void)[] = [];

  constructor(persistence: Persistence, onError: (err: unknown) => void) {
    this.persistence = persistence;
    this.onError = onError;
  }

  /** True when every change recorded is stored: an ack may go at once. */
  get idle(): boolean {
    return this.recorded === this.committed;
  }

  /** Changes recorded so far: an ack sent now waits until this many are stored. */
  get position(): number {
    return this.recorded;
  }

  record(change: PersistenceChange): void {
    this.batch.push(change);
    this.recorded++;
    if (!this.scheduled && !this.committing) {
      this.scheduled = true;
      setImmediate(runJournal, this);
    }
  }

  /** `waiter` holds acks until `waiter.commitPosition` is stored (call once per wait). */
  wait(waiter: CommitWaiter): void {
    this.waiters.push(waiter);
    if (!this.scheduled && !this.committing && this.batch.length !== 0) {
      this.scheduled = true;
      setImmediate(runJournal, this);
    }
  }

  /** Resolves once everything recorded so far is stored (broker close). */
  flush(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => {
      this.flushes.push(resolve);
      if (!this.scheduled && !this.committing) this.run();
    });
  }

  /** @internal commits the batch recorded since the last commit. */
  run(): void {
    this.scheduled = false;
    if (this.committing || this.batch.length === 0) return;
    const batch = this.batch;
    this.batch = [];
    const upTo = this.recorded;
    this.committing = true;
    let result: unknown;
    try {
      result = this.persistence.commit(batch);
    } catch (err) {
      this.settle(upTo, err);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        () => this.settle(upTo, undefined),
        (err: unknown) => this.settle(upTo, err),
      );
    } else this.settle(upTo, undefined);
  }

  private settle(upTo: number, err: unknown): void {
    this.committing = false;
    this.committed = upTo;
    if (err !== undefined) this.onError(err);
    if (this.waiters.length !== 0) {
      const waiting = this.waiters;
      this.waiters = [];
      for (const waiter of waiting) {
        if (waiter.commitPosition > upTo) this.waiters.push(waiter);
        else if (err === undefined) waiter.commitDone();
        else waiter.commitFailed(err);
      }
    }
    // What was recorded meanwhile is the next group (on a turn of its own: a sync commit
    // releases acks and drains queues, which records more).
    if (this.batch.length !== 0) {
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(runJournal, this);
      }
    } else if (this.flushes.length !== 0 && this.idle) {
      const flushes = this.flushes;
      this.flushes = [];
      for (const resolve of flushes) resolve();
    }
  }
}

function runJournal(journal: Journal): void {
  journal.run();
}
