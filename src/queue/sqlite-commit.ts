/**
 * The group commit of the queue file: writes issued in the same tick run in ONE
 * `BEGIN IMMEDIATE … COMMIT` transaction, committed on `setImmediate` (or as soon as MAX_BATCH are
 * waiting), and each promise settles only after that COMMIT returned, so a resolved write is as
 * durable as the connection's `synchronous` setting makes a commit. One fsync then covers a whole
 * burst of webhooks instead of one each.
 *
 * Each write runs inside its own SAVEPOINT, so one that throws (a dedup duplicate) is undone alone
 * and the others commit. When the transaction itself fails (BEGIN busy past the timeout, COMMIT,
 * an I/O error or a full disk, after which SQLite rolls everything back), every write of the batch
 * is rejected: none of it is durable. The write lock of `BEGIN IMMEDIATE` also makes a write's
 * reads and changes atomic across connections (two processes never lease the same record).
 */
import type { DatabaseSync } from 'node:sqlite';

/** Writes gathered in one tick are committed together; a batch this large is committed at once. */
export const MAX_BATCH = 256;

interface PendingWrite {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };

function transactionStatements(db: DatabaseSync) {
  return {
    begin: db.prepare('BEGIN IMMEDIATE'),
    commit: db.prepare('COMMIT'),
    rollback: db.prepare('ROLLBACK'),
    savepoint: db.prepare('SAVEPOINT op'),
    releaseSavepoint: db.prepare('RELEASE op'),
    rollbackTo: db.prepare('ROLLBACK TO op'),
  };
}

export class GroupCommit {
  readonly #db: DatabaseSync;
  readonly #s: ReturnType<typeof transactionStatements>;
  #batch: PendingWrite[] = [];
  #scheduled = false;
  #commits = 0;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#s = transactionStatements(db);
  }

  /** Transactions committed so far. */
  get commits(): number {
    return this.#commits;
  }

  /** Queues `run` for the next group commit; settles with its result after COMMIT. */
  write<T>(run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#batch.push({ run, resolve: resolve as (value: unknown) => void, reject });
      if (this.#batch.length >= MAX_BATCH) this.flush();
      else if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => {
          this.#scheduled = false;
          this.flush();
        });
      }
    });
  }

  /** Commits the waiting writes now (the driver's close, a full batch). */
  flush(): void {
    const batch = this.#batch;
    if (batch.length === 0) return;
    this.#batch = [];
    const s = this.#s;
    const settled: Settled[] = [];
    try {
      s.begin.run();
      for (const write of batch) settled.push(this.#runOne(write));
      s.commit.run();
      this.#commits += 1;
    } catch (error) {
      // BEGIN (busy past the timeout), a savepoint or COMMIT failed, or SQLite rolled the whole
      // transaction back (I/O error, disk full): nothing of this batch is durable.
      if (this.#db.isTransaction) {
        try {
          s.rollback.run();
        } catch {
          // nothing more to undo: every write is rejected below
        }
      }
      for (const write of batch) write.reject(error);
      return;
    }
    for (let i = 0; i < batch.length; i++) {
      const result = settled[i] as Settled;
      const write = batch[i] as PendingWrite;
      if (result.ok) write.resolve(result.value);
      else write.reject(result.error);
    }
  }

  /** Runs one write in its own savepoint: when it throws, only its changes are undone. */
  #runOne(write: PendingWrite): Settled {
    const s = this.#s;
    s.savepoint.run();
    let value: unknown;
    try {
      value = write.run();
    } catch (error) {
      // SQLite already rolled the whole transaction back (disk full): the batch fails as one.
      if (!this.#db.isTransaction) throw error;
      s.rollbackTo.run();
      s.releaseSavepoint.run();
      return { ok: false, error };
    }
    s.releaseSavepoint.run();
    return { ok: true, value };
  }
}
