/**
 * The SQLite store (better-sqlite3, WAL): one file, `jobs.db`, in the data directory. A job is a
 * row; an ended job's series is one row of BLOBs (typed-array bytes, columnar), never a row per
 * number. The schema is versioned with PRAGMA user_version; MIGRATIONS[i] takes version i to i + 1.
 *
 * Writes are group-committed: insert, setRunning and finish queue their statements, and everything
 * queued during one turn of the event loop commits in one transaction (each write in its own
 * savepoint, so one failing write fails alone). Every read first commits what is queued, so a
 * read always sees the writes issued before it. A write's promise settles once it is committed.
 *
 * Checkpoints (copying the WAL into the database file, then fsync) run on a small thread of their
 * own with its own connection: done by the writing connection, as SQLite does by default, each one
 * stalled the event loop for ~30 ms every few dozen jobs (≈ 0.75 ms per W1 job).
 */
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { DoneEvent, JobStatus } from '../../contract/events.js';
import type { NonFiniteMark } from '../event-log.js';
import { ROW_OVERHEAD_BYTES } from '../storage.js';
import {
  checkExisting,
  checkSchema,
  inspectBeforeOpen,
  integrityStats,
  refusal,
  resultChecksum,
  resultChecksumAsync,
} from './integrity.js';
import { recomputeResult } from './recompute.js';
import { asBuffer, type JobWriteRow, toRow } from './rows.js';
import {
  type EvictionPolicy,
  emptyCounts,
  type JobStore,
  type StoredJob,
  type StoredResult,
  type StoreListQuery,
} from './types.js';

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE jobs (
     id TEXT PRIMARY KEY,
     name TEXT,
     status TEXT NOT NULL,
     owner TEXT,
     sweep_id TEXT,
     spec TEXT NOT NULL,
     created_at TEXT NOT NULL,
     started_at TEXT,
     ended_at TEXT,
     step INTEGER NOT NULL DEFAULT 0,
     summary TEXT,
     error TEXT,
     last_seq INTEGER NOT NULL DEFAULT -1
   ) STRICT;
   CREATE INDEX jobs_status ON jobs (status, id);
   CREATE INDEX jobs_owner ON jobs (owner, id);
   CREATE INDEX jobs_sweep ON jobs (sweep_id, id) WHERE sweep_id IS NOT NULL;
   CREATE INDEX jobs_ended ON jobs (ended_at, id) WHERE ended_at IS NOT NULL;
   CREATE TABLE results (
     job_id TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
     shape TEXT NOT NULL,
     length INTEGER NOT NULL,
     steps BLOB NOT NULL,
     vals BLOB NOT NULL,
     hidden BLOB NOT NULL,
     nonfinite TEXT,
     done TEXT NOT NULL
   ) STRICT;`,
  // CRC-32 of a result (integrity.ts), verified on every read; NULL on results stored before it.
  'ALTER TABLE results ADD COLUMN crc INTEGER;',
  // The kernels a job runs with (docs/design.md, "Exact vs FMA kernels"); every job before was exact.
  `ALTER TABLE jobs ADD COLUMN kernels TEXT NOT NULL DEFAULT 'exact';`,
];

/** What this build reads; an existing file lacking any of it is refused (integrity.ts). */
const SCHEMA = {
  jobs: [
    'id',
    'name',
    'status',
    'owner',
    'sweep_id',
    'spec',
    'created_at',
    'started_at',
    'ended_at',
    'step',
    'summary',
    'error',
    'last_seq',
  ],
  results: ['job_id', 'shape', 'length', 'steps', 'vals', 'hidden', 'nonfinite', 'done', 'crc'],
} as const;

/** SQLite reads the job row back with the types it was written with. */
type JobRow = JobWriteRow;

interface ResultRow {
  shape: string;
  length: number;
  steps: Buffer;
  vals: Buffer;
  hidden: Buffer;
  nonfinite: string | null;
  done: string;
  crc: number | null;
}

export interface SqliteStoreOptions {
  /** Where repairs of damaged results are logged (warn on damage, info once repaired). */
  logger?: Pick<Logger, 'warn' | 'info' | 'error'>;
}

export const DB_FILE = 'jobs.db';

/**
 * Pages of new databases. An ended job's series is ~280 KB of BLOB (W1); with 16 KB pages it spans
 * 4× fewer overflow pages than with SQLite's 4 KB default (fewer WAL frames, checksums and checkpoint
 * copies), while a status update still rewrites only a few pages. Measured on W1: the writes of a
 * job cost 0.57 ms of CPU instead of 0.79 (0.44 instead of 0.67 when group-committed). An existing
 * database keeps the page size it was created with.
 */
const PAGE_SIZE = 16_384;

/** How often the checkpoint thread copies the WAL into the database (PASSIVE: never blocks a writer). */
const CHECKPOINT_EVERY_MS = 200;
/**
 * Backstop should the checkpoint thread stall or die: past this many WAL pages (256 MiB at 16 KB) the
 * writing connection checkpoints itself, so the WAL stays bounded whatever happens.
 */
const WAL_BACKSTOP_PAGES = 16_384;

// CommonJS source for an eval'd worker: the same in tests (.ts), under tsx and built (.js).
const CHECKPOINTER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file);
// A checkpoint that fails (a full disk, say) is tried again at the next tick rather than ending the thread.
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {}
}, workerData.everyMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

interface PendingWrite {
  run(): void;
  resolve(): void;
  reject(err: unknown): void;
}

export class SqliteJobStore implements JobStore {
  private readonly db: Database.Database;
  private readonly stmt;
  private readonly checkpointer: Worker;
  /** Settles when the checkpoint thread has ended, however it ended. */
  private readonly checkpointerExited: Promise<unknown>;
  private closing: Promise<void> | null = null;
  private pending: PendingWrite[] = [];
  /** setRunning writes still queued, by job id (see finish). */
  private readonly runningWrites = new Map<string, PendingWrite>();
  private flushScheduled = false;
  private readonly logger: SqliteStoreOptions['logger'];
  /** Repairs in progress, by job id: concurrent reads of one damaged result share one recompute. */
  private readonly repairs = new Map<string, Promise<StoredResult>>();

  constructor(dataDir: string, options: SqliteStoreOptions = {}) {
    this.logger = options.logger;
    mkdirSync(dataDir, { recursive: true });
    const file = join(dataDir, DB_FILE);
    // A damaged, empty or foreign file is refused with its name and what to do (integrity.ts).
    const { existed } = inspectBeforeOpen(file);
    let db: Database.Database | null = null;
    try {
      db = new Database(file);
      const version = db.pragma('user_version', { simple: true }) as number;
      if (existed) checkExisting(db, file, version);
      // Only takes effect while the file is still empty (before the first table and before WAL).
      db.pragma(`page_size = ${PAGE_SIZE}`);
      db.pragma('journal_mode = WAL');
      // NORMAL under WAL loses at most the last transactions on power loss, never consistency.
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
      db.pragma(`wal_autocheckpoint = ${WAL_BACKSTOP_PAGES}`);
      migrate(db);
      checkSchema(db, file, SCHEMA);
    } catch (err) {
      if (db?.open) db.close();
      throw refusal(file, err);
    }
    this.db = db;
    this.checkpointer = new Worker(CHECKPOINTER, {
      eval: true,
      workerData: {
        module: createRequire(import.meta.url).resolve('better-sqlite3'),
        file: join(dataDir, DB_FILE),
        everyMs: CHECKPOINT_EVERY_MS,
      },
    });
    // A failed checkpoint thread costs only the backstop above; it must never take the process down.
    this.checkpointer.on('error', () => {});
    this.checkpointerExited = once(this.checkpointer, 'exit');
    this.checkpointer.unref();
    this.stmt = {
      insert: db.prepare(
        `INSERT INTO jobs (id, name, status, owner, sweep_id, spec, created_at, started_at, ended_at, step, summary, error, last_seq, kernels)
         VALUES (@id, @name, @status, @owner, @sweep_id, @spec, @created_at, @started_at, @ended_at, @step, @summary, @error, @last_seq, @kernels)`,
      ),
      setRunning: db.prepare(
        `UPDATE jobs SET status = @status, started_at = @started_at WHERE id = @id AND status IN ('queued', 'running')`,
      ),
      finishJob: db.prepare(
        `UPDATE jobs SET status = ?, started_at = ?, ended_at = ?, step = ?, summary = ?, error = ?, last_seq = ?
         WHERE id = ?`,
      ),
      insertResult: db.prepare(
        `INSERT OR REPLACE INTO results (job_id, shape, length, steps, vals, hidden, nonfinite, done, crc)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      get: db.prepare('SELECT * FROM jobs WHERE id = ?'),
      getResult: db.prepare(
        'SELECT shape, length, steps, vals, hidden, nonfinite, done, crc FROM results WHERE job_id = ?',
      ),
      setCrc: db.prepare('UPDATE results SET crc = ? WHERE job_id = ?'),
      // length() of a BLOB reads its size from the record header, not the BLOB itself.
      usage: db.prepare(
        `SELECT j.owner AS owner,
                count(*) * ${ROW_OVERHEAD_BYTES} + coalesce(sum(length(r.steps) + length(r.vals) + length(r.hidden)), 0) AS bytes
         FROM jobs j LEFT JOIN results r ON r.job_id = j.id GROUP BY j.owner`,
      ),
      list: db.prepare(
        `SELECT * FROM jobs
         WHERE (@before IS NULL OR id < @before) AND (@owner IS NULL OR owner = @owner)
           AND (@status IS NULL OR status = @status) AND (@sweep_id IS NULL OR sweep_id = @sweep_id)
           AND (@singles = 0 OR sweep_id IS NULL)
         ORDER BY id DESC LIMIT @limit`,
      ),
      unfinished: db.prepare(`SELECT * FROM jobs WHERE status IN ('queued', 'running') ORDER BY id`),
      counts: db.prepare('SELECT status, count(*) AS n FROM jobs GROUP BY status'),
      total: db.prepare('SELECT count(*) AS n FROM jobs'),
      expired: db.prepare(`SELECT * FROM jobs WHERE ended_at IS NOT NULL AND ended_at < ? ORDER BY ended_at, id`),
      oldestEnded: db.prepare(`SELECT * FROM jobs WHERE ended_at IS NOT NULL ORDER BY ended_at, id LIMIT ?`),
      delete: db.prepare('DELETE FROM jobs WHERE id = ?'),
    };
  }

  insert(job: StoredJob): Promise<void> {
    const row = toRow(job);
    return this.write(() => this.stmt.insert.run(row));
  }

  setRunning(id: string, startedAt: string | null): Promise<void> {
    const params = { id, status: startedAt === null ? 'queued' : 'running', started_at: startedAt };
    const write = this.write(() => {
      this.runningWrites.delete(id);
      this.stmt.setRunning.run(params);
    });
    const queued = this.pending.at(-1);
    if (queued) this.runningWrites.set(id, queued);
    return write;
  }

  finish(job: StoredJob, result: StoredResult): Promise<void> {
    // Bound now: the caller's objects may change after this returns; the blob bytes never do.
    const jobParams = [
      job.status,
      job.startedAt,
      job.endedAt,
      job.step,
      job.summary ? JSON.stringify(job.summary) : null,
      job.error,
      job.lastSeq,
      job.id,
    ];
    const resultParams = resultRow(job.id, result);
    // A short job often ends before its start was committed: the end row says everything the start
    // would have (status, started_at), so the start's write is dropped from the same commit.
    const start = this.runningWrites.get(job.id);
    if (start) {
      this.runningWrites.delete(job.id);
      start.run = () => {};
    }
    return this.write(() => {
      this.stmt.finishJob.run(...jobParams);
      this.stmt.insertResult.run(...resultParams);
    });
  }

  /** Queues a write for the next group commit. */
  private write(run: () => void): Promise<void> {
    if (!this.db.open) return Promise.reject(new Error('the job store is closed'));
    return new Promise((resolve, reject) => {
      this.pending.push({ run, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => {
          this.flushScheduled = false;
          this.flush();
        });
      }
    });
  }

  /** Commits every queued write in one transaction, then settles their promises. */
  private flush(): void {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    if (!this.db.open) {
      for (const w of batch) w.reject(new Error('the job store is closed'));
      return;
    }
    const failures = new Map<PendingWrite, unknown>();
    try {
      this.db.transaction(() => {
        for (const w of batch) {
          try {
            // Nested: a savepoint, rolled back alone if this write throws.
            this.db.transaction(w.run)();
          } catch (err) {
            failures.set(w, err);
          }
        }
      })();
    } catch (err) {
      for (const w of batch) w.reject(err);
      return;
    }
    for (const w of batch) {
      if (failures.has(w)) w.reject(failures.get(w));
      else w.resolve();
    }
  }

  async get(id: string): Promise<StoredJob | null> {
    this.flush();
    const row = this.stmt.get.get(id) as JobRow | undefined;
    return row ? fromRow(row) : null;
  }

  async getResult(id: string): Promise<StoredResult | null> {
    this.flush();
    const repairing = this.repairs.get(id);
    if (repairing) return repairing;
    const row = this.stmt.getResult.get(id) as ResultRow | undefined;
    if (!row) return null;
    // In slices: a large result (hundreds of MB) must not hold the event loop for its whole CRC.
    const crc = await resultChecksumAsync(row);
    if (row.crc === null) {
      // Stored before checksums: from now on it is verified against what it holds today.
      this.stmt.setCrc.run(crc, id);
    } else if (crc !== row.crc) {
      return this.repair(id);
    }
    return {
      series: {
        shape: JSON.parse(row.shape),
        length: row.length,
        steps: row.steps,
        values: row.vals,
        hidden: row.hidden,
      },
      nonFinite: row.nonfinite ? (JSON.parse(row.nonfinite) as NonFiniteMark) : null,
      done: JSON.parse(row.done) as DoneEvent,
    };
  }

  /** A result whose checksum failed: recomputed from the job's spec and written back (integrity.ts). */
  private repair(id: string): Promise<StoredResult> {
    integrityStats.damagedResults++;
    this.logger?.warn({ jobId: id }, 'stored result fails its checksum: recomputing it from the spec');
    const run = (async () => {
      const row = this.stmt.get.get(id) as JobRow | undefined;
      if (!row) throw new Error(`result of job ${id} is damaged and its job row is gone`);
      const job = fromRow(row);
      const started = performance.now();
      const result = await recomputeResult(job);
      await this.write(() => this.stmt.insertResult.run(...resultRow(id, result)));
      integrityStats.repairedResults++;
      this.logger?.info(
        { jobId: id, ms: Math.round(performance.now() - started) },
        'stored result recomputed and repaired',
      );
      return result;
    })();
    this.repairs.set(id, run);
    run.then(
      () => this.repairs.delete(id),
      (err: unknown) => {
        this.repairs.delete(id);
        this.logger?.error({ err, jobId: id }, 'stored result is damaged and could not be repaired');
      },
    );
    return run;
  }

  async usageByOwner(): Promise<Map<string | null, number>> {
    this.flush();
    const rows = this.stmt.usage.all() as { owner: string | null; bytes: number }[];
    return new Map(rows.map((r) => [r.owner, r.bytes]));
  }

  async list(q: StoreListQuery): Promise<StoredJob[]> {
    this.flush();
    const rows = this.stmt.list.all({
      before: q.before ?? null,
      owner: q.owner,
      status: q.status ?? null,
      sweep_id: q.sweepId ?? null,
      singles: q.singles && q.sweepId === undefined ? 1 : 0,
      limit: q.limit,
    }) as JobRow[];
    return rows.map(fromRow);
  }

  async unfinished(): Promise<StoredJob[]> {
    this.flush();
    return (this.stmt.unfinished.all() as JobRow[]).map(fromRow);
  }

  async countByStatus(): Promise<Record<JobStatus, number>> {
    this.flush();
    const counts = emptyCounts();
    for (const { status, n } of this.stmt.counts.all() as { status: JobStatus; n: number }[]) counts[status] = n;
    return counts;
  }

  async evict(policy: EvictionPolicy): Promise<StoredJob[]> {
    this.flush();
    return this.db.transaction(() => {
      const gone: JobRow[] = [];
      if (policy.ttlMs !== null) {
        const cutoff = new Date(policy.now - policy.ttlMs).toISOString();
        gone.push(...(this.stmt.expired.all(cutoff) as JobRow[]));
        for (const row of gone) this.stmt.delete.run(row.id);
      }
      if (policy.maxJobs !== null) {
        const excess = (this.stmt.total.get() as { n: number }).n - policy.maxJobs;
        if (excess > 0) {
          const rows = this.stmt.oldestEnded.all(excess) as JobRow[];
          for (const row of rows) this.stmt.delete.run(row.id);
          gone.push(...rows);
        }
      }
      return gone.map(fromRow);
    })();
  }

  async checkWritable(): Promise<void> {
    this.flush();
    // BEGIN IMMEDIATE takes the write lock: it fails on a read-only, full or locked database.
    this.db.exec('BEGIN IMMEDIATE; ROLLBACK;');
  }

  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.flush();
    // Referenced again so the process waits for the thread's exit rather than ending under it.
    this.checkpointer.ref();
    this.checkpointer.postMessage('close');
    await this.checkpointerExited;
    // The last connection to close checkpoints what is left and removes the WAL.
    if (this.db.open) this.db.close();
  }
}

function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new Error(`jobs.db has schema version ${version}, newer than this build knows (${MIGRATIONS.length})`);
  }
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

function fromRow(row: JobRow): StoredJob {
  return {
    id: row.id,
    name: row.name,
    status: row.status as JobStatus,
    owner: row.owner,
    sweepId: row.sweep_id,
    spec: JSON.parse(row.spec),
    createdAt: row.created_at,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    step: row.step,
    summary: row.summary ? JSON.parse(row.summary) : null,
    error: row.error,
    lastSeq: row.last_seq,
    kernels: row.kernels === 'fma' ? 'fma' : 'exact',
  };
}

/** The parameters of insertResult, checksum last. */
function resultRow(id: string, result: StoredResult): unknown[] {
  const s = result.series;
  const row = {
    shape: JSON.stringify(s.shape),
    length: s.length,
    steps: asBuffer(s.steps),
    vals: asBuffer(s.values),
    hidden: asBuffer(s.hidden),
    nonfinite: result.nonFinite ? JSON.stringify(result.nonFinite) : null,
    done: JSON.stringify(result.done),
  };
  const { shape, length, steps, vals, hidden, nonfinite, done } = row;
  return [id, shape, length, steps, vals, hidden, nonfinite, done, resultChecksum(row)];
}
