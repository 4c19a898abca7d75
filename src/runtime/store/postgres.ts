/**
 * The PostgreSQL job store (the `pg` driver) for the distributed backend (docs/scaling.md): the same
 * JobStore the SQLite store implements, and the same conformance suite
 * (test/runtime/store-conformance.test.ts). A job is a row; an ended job's series is one row of
 * BYTEA columns (the typed arrays' bytes, columnar), never a row per number.
 *
 * The store is usable as soon as it is constructed: the pool connects lazily and every call first
 * awaits the migrations started by the constructor (`ready()` exposes them, so a process can fail
 * at start rather than on its first request).
 *
 * Ordering. Writes run on a pool of connections, so two writes issued one after the other could
 * reach PostgreSQL in either order. Writes to the same job are therefore chained (a job's
 * setRunning never overtakes its insert), writes to different jobs run in parallel, and a read
 * first waits for the writes issued before it (for `get`, only that job's), so a read sees every
 * write this process issued before it — what the SQLite store gives by committing its queue first.
 * Across processes, a write is visible to everyone once its promise has settled (it is committed).
 */
import type pg from 'pg';
import type { DoneEvent, JobStatus } from '../../contract/events.js';
import type { NonFiniteMark } from '../event-log.js';
import { createPool, inTransaction, migrate, OrderedWrites, type PgOptions } from './postgres-schema.js';
import { asBuffer, toRow } from './rows.js';
import {
  type EvictionPolicy,
  emptyCounts,
  type JobStore,
  type StoredJob,
  type StoredResult,
  type StoreListQuery,
} from './types.js';

interface JobRow {
  id: string;
  name: string | null;
  status: JobStatus;
  owner: string | null;
  sweep_id: string | null;
  spec: unknown;
  created_at: Date;
  started_at: Date | null;
  ended_at: Date | null;
  step: number;
  summary: unknown;
  error: string | null;
  last_seq: number;
  kernels: string;
}

interface ResultRow {
  shape: StoredResult['series']['shape'];
  length: number;
  steps: Buffer;
  vals: Buffer;
  hidden: Buffer;
  nonfinite: NonFiniteMark | null;
  done: DoneEvent;
}

/** Key of the transaction-level advisory lock evictions take (see evict). */
const EVICT_LOCK = 'gradient-lab:evict';

export class PostgresJobStore implements JobStore {
  private readonly pool: pg.Pool;
  private readonly migrated: Promise<unknown>;
  private closed = false;
  private readonly writes: OrderedWrites;

  /** `onPoolError` hears of connections that broke while idle (the next query reconnects). */
  constructor(options: PgOptions, onPoolError?: (err: Error) => void) {
    this.pool = createPool(options, onPoolError);
    this.migrated = migrate(this.pool, options.schema);
    // Reported through ready() and every call; never an unhandled rejection.
    this.migrated.catch(() => {});
    this.writes = new OrderedWrites(this.migrated);
  }

  /** Settles once the schema is migrated; rejects when PostgreSQL cannot be reached or migrated. */
  async ready(): Promise<void> {
    await this.migrated;
  }

  insert(job: StoredJob): Promise<void> {
    const r = toRow(job);
    return this.write(job.id, () =>
      this.pool.query(
        `INSERT INTO jobs (id, name, status, owner, sweep_id, spec, created_at, started_at, ended_at, step, summary, error, last_seq, kernels)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
        [
          r.id,
          r.name,
          r.status,
          r.owner,
          r.sweep_id,
          r.spec,
          r.created_at,
          r.started_at,
          r.ended_at,
          r.step,
          r.summary,
          r.error,
          r.last_seq,
          r.kernels,
        ],
      ),
    );
  }

  setRunning(id: string, startedAt: string | null): Promise<void> {
    const status = startedAt === null ? 'queued' : 'running';
    return this.write(id, () =>
      this.pool.query(
        `UPDATE jobs SET status = $1, started_at = $2 WHERE id = $3 AND status IN ('queued', 'running')`,
        [status, startedAt, id],
      ),
    );
  }

  finish(job: StoredJob, result: StoredResult): Promise<void> {
    const s = result.series;
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
    const resultParams = [
      job.id,
      JSON.stringify(s.shape),
      s.length,
      asBuffer(s.steps),
      asBuffer(s.values),
      asBuffer(s.hidden),
      result.nonFinite ? JSON.stringify(result.nonFinite) : null,
      JSON.stringify(result.done),
    ];
    return this.write(job.id, () =>
      inTransaction(this.pool, async (c) => {
        const updated = await c.query(
          `UPDATE jobs SET status = $1, started_at = $2, ended_at = $3, step = $4, summary = $5, error = $6, last_seq = $7
           WHERE id = $8`,
          jobParams,
        );
        // A job deleted meanwhile (evicted) stays deleted, as in the memory store.
        if (updated.rowCount === 1) {
          await c.query(
            `INSERT INTO results (job_id, shape, length, steps, vals, hidden, nonfinite, done)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (job_id) DO UPDATE SET shape = excluded.shape, length = excluded.length,
               steps = excluded.steps, vals = excluded.vals, hidden = excluded.hidden,
               nonfinite = excluded.nonfinite, done = excluded.done`,
            resultParams,
          );
        }
      }),
    );
  }

  async get(id: string): Promise<StoredJob | null> {
    await this.readyToRead(id);
    const { rows } = await this.pool.query<JobRow>('SELECT * FROM jobs WHERE id = $1', [id]);
    return rows.length ? fromRow(rows[0]) : null;
  }

  async getResult(id: string): Promise<StoredResult | null> {
    await this.readyToRead(id);
    const { rows } = await this.pool.query<ResultRow>(
      'SELECT shape, length, steps, vals, hidden, nonfinite, done FROM results WHERE job_id = $1',
      [id],
    );
    if (!rows.length) return null;
    const r = rows[0];
    return {
      series: { shape: r.shape, length: r.length, steps: r.steps, values: r.vals, hidden: r.hidden },
      nonFinite: r.nonfinite,
      done: r.done,
    };
  }

  async list(q: StoreListQuery): Promise<StoredJob[]> {
    await this.readyToRead();
    const { rows } = await this.pool.query<JobRow>(
      `SELECT * FROM jobs
       WHERE ($1::text IS NULL OR id < $1) AND ($2::text IS NULL OR owner = $2)
         AND ($3::text IS NULL OR status = $3) AND ($4::text IS NULL OR sweep_id = $4)
         AND (NOT $6::boolean OR sweep_id IS NULL)
       ORDER BY id DESC LIMIT $5`,
      [q.before ?? null, q.owner, q.status ?? null, q.sweepId ?? null, q.limit, !!q.singles && q.sweepId === undefined],
    );
    return rows.map(fromRow);
  }

  async unfinished(): Promise<StoredJob[]> {
    await this.readyToRead();
    const { rows } = await this.pool.query<JobRow>(
      `SELECT * FROM jobs WHERE status IN ('queued', 'running') ORDER BY id`,
    );
    return rows.map(fromRow);
  }

  async countByStatus(): Promise<Record<JobStatus, number>> {
    await this.readyToRead();
    const { rows } = await this.pool.query<{ status: JobStatus; n: string }>(
      'SELECT status, count(*) AS n FROM jobs GROUP BY status',
    );
    const counts = emptyCounts();
    for (const { status, n } of rows) counts[status] = Number(n);
    return counts;
  }

  async evict(policy: EvictionPolicy): Promise<StoredJob[]> {
    await this.readyToRead();
    return inTransaction(this.pool, async (c) => {
      // Every API process runs retention: serialised, two of them never both delete "the excess"
      // (twice the excess), and each job is returned by exactly one of them.
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [EVICT_LOCK]);
      const gone: JobRow[] = [];
      if (policy.ttlMs !== null) {
        const cutoff = new Date(policy.now - policy.ttlMs).toISOString();
        const { rows } = await c.query<JobRow>(
          'DELETE FROM jobs WHERE ended_at IS NOT NULL AND ended_at < $1 RETURNING *',
          [cutoff],
        );
        gone.push(...sortByEnd(rows));
      }
      if (policy.maxJobs !== null) {
        const { rows: total } = await c.query<{ n: string }>('SELECT count(*) AS n FROM jobs');
        const excess = Number(total[0].n) - policy.maxJobs;
        if (excess > 0) {
          const { rows } = await c.query<JobRow>(
            `DELETE FROM jobs WHERE id IN (
               SELECT id FROM jobs WHERE ended_at IS NOT NULL ORDER BY ended_at, id LIMIT $1
             ) RETURNING *`,
            [excess],
          );
          gone.push(...sortByEnd(rows));
        }
      }
      return gone.map(fromRow);
    });
  }

  async checkWritable(): Promise<void> {
    await this.readyToRead();
    // A standby (or a database set read-only) takes no writes.
    const { rows } = await this.pool.query<{ writable: boolean }>(
      `SELECT NOT pg_is_in_recovery() AND current_setting('default_transaction_read_only') = 'off' AS writable`,
    );
    if (!rows[0].writable) throw new Error('PostgreSQL is read-only (a standby, or default_transaction_read_only)');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([this.migrated, this.writes.settled()]);
    await this.pool.end();
  }

  /** Runs a write after the writes this process issued before it for the same job. */
  private async write(id: string, run: () => Promise<unknown>): Promise<void> {
    if (this.closed) throw new Error('the job store is closed');
    await this.writes.run(id, async () => {
      await this.migrated;
      await run();
    });
  }

  /** Waits until the writes issued so far (for one job, or all) have settled. */
  private async readyToRead(id?: string): Promise<void> {
    if (this.closed) throw new Error('the job store is closed');
    await this.migrated;
    await this.writes.settled(id);
  }
}

function sortByEnd(rows: JobRow[]): JobRow[] {
  return rows.sort(
    (a, b) => (a.ended_at?.getTime() ?? 0) - (b.ended_at?.getTime() ?? 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

function fromRow(row: JobRow): StoredJob {
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    owner: row.owner,
    sweepId: row.sweep_id,
    spec: row.spec as StoredJob['spec'],
    createdAt: row.created_at.toISOString(),
    startedAt: iso(row.started_at),
    endedAt: iso(row.ended_at),
    step: row.step,
    summary: (row.summary ?? null) as StoredJob['summary'],
    error: row.error,
    lastSeq: row.last_seq,
    kernels: row.kernels === 'fma' ? 'fma' : 'exact',
  };
}
