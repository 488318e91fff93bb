import type { Persistence, PersistenceChange } from './ports/persistence.js';

/** What the journal needs from a connection whose acks wait for a commit. */
export interface CommitWaiter {
  /** Its client id: a failure confined to other clients' changes does not fail it. */
  readonly id: string;
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
    commitOnce(this.persistence, batch, (err) => {
      if (err === undefined) this.settle(upTo, undefined, undefined);
      else this.retryByClient(batch, upTo, err);
    });
  }

  /**
   * A batch failed. Its changes are committed again client by client (retained messages as
   * one more group), so that a failure confined to one session's changes (a value the store
   * refuses, a per-key limit) fails only the acks that depend on them, not every client whose
   * ack happened to share the turn. A store that is down fails every group.
   */
  private retryByClient(batch: PersistenceChange[], upTo: number, first: unknown): void {
    const groups = new Map<string | undefined, PersistenceChange[]>();
    for (const change of batch) {
      const key = 'clientId' in change ? change.clientId : undefined;
      const group = groups.get(key);
      if (group === undefined) groups.set(key, [change]);
      else group.push(change);
    }
    if (groups.size < 2) {
      this.settle(upTo, first, dependents(batch, new Set()));
      return;
    }
    const failed = new Set<string>();
    let error: unknown;
    const pending = [...groups.values()];
    let index = 0;
    // Sync commits loop here; an async one continues from its callback (no deep recursion).
    const next = (): void => {
      while (index < pending.length) {
        const changes = pending[index++]!;
        let sync = true;
        let doneSync = false;
        commitOnce(this.persistence, changes, (err) => {
          if (err !== undefined) {
            dependents(changes, failed);
            error ??= err;
          }
          if (sync) doneSync = true;
          else next();
        });
        sync = false;
        if (!doneSync) return;
      }
      if (error === undefined) this.settle(upTo, undefined, undefined);
      else this.settle(upTo, error, failed);
    };
    next();
  }

  /**
   * Records the outcome up to `upTo`. On failure, `failed` names the clients whose acks depended
   * on a change that is not stored (ALL: every waiter fails); the others' acks go out.
   */
  private settle(upTo: number, err: unknown, failed: Set<string> | undefined): void {
    this.committing = false;
    this.committed = upTo;
    if (err !== undefined) this.onError(err);
    if (this.waiters.length !== 0) {
      const waiting = this.waiters;
      this.waiters = [];
      for (const waiter of waiting) {
        if (waiter.commitPosition > upTo) this.waiters.push(waiter);
        else if (err === undefined || (failed !== undefined && !failed.has(ALL) && !failed.has(waiter.id))) waiter.commitDone();
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

/** One `commit(batch)`, sync or async: `done` gets undefined, or what it threw or rejected with. */
/** In a `dependents` set: a change no single client accounts for failed; every waiter fails. */
const ALL = '\u0000all';

/**
 * Adds to `into` the clients whose acks depend on `changes`: the session each change belongs
 * to, and the publisher (`origin`) of each message stored for a session or retained. A failed
 * retained delete accounts to no one: every waiter fails.
 */
function dependents(changes: readonly PersistenceChange[], into: Set<string>): Set<string> {
  for (const change of changes) {
    if (change.op === 'retain') {
      if (change.message.origin !== undefined) into.add(change.message.origin);
    } else if (change.op === 'unretain') into.add(ALL);
    else {
      into.add(change.clientId);
      if (change.op === 'message' && change.entry.message.origin !== undefined) into.add(change.entry.message.origin);
    }
  }
  return into;
}

function commitOnce(persistence: Persistence, batch: readonly PersistenceChange[], done: (err: unknown) => void): void {
  let result: unknown;
  try {
    result = persistence.commit(batch);
  } catch (err) {
    done(err ?? new Error('commit failed'));
    return;
  }
  if (result instanceof Promise) {
    result.then(
      () => done(undefined),
      (err: unknown) => done(err ?? new Error('commit failed')),
    );
  } else done(undefined);
}

function runJournal(journal: Journal): void {
  journal.run();
}
