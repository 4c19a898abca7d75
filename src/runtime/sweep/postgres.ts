/**
 * Sweeps in PostgreSQL (the distributed backend, docs/scaling.md): the sweep record and one row per
 * cell, in the schema the job store migrates (src/runtime/store/postgres-schema.ts, migration 2).
 * A cell's status is also a column of its own, so counting cells by status reads no JSON.
 *
 * An ended cell takes the sweep's next seq in the same transaction that stores it (`endCell`): the
 * sweep row is locked by the `UPDATE … RETURNING`, so cells ending on several workers at once get
 * consecutive, distinct seqs, and the unique (sweep_id, seq) index makes a duplicate impossible
 * whatever the callers do.
 */
import type pg from 'pg';
import type { CellStatus, SweepCell, SweepStatus } from '../../contract/sweep.js';
import { createPool, inTransaction, migrate, OrderedWrites, type PgOptions } from '../store/postgres-schema.js';
import type { Owner } from '../types.js';
import type { AsyncSweepStore, CellWrite } from './async-store.js';
import { emptyCounts } from './grid.js';
import type { CellEntry, StoredSweep, SweepPatch } from './store.js';

interface SweepRow {
  id: string;
  owner: string | null;
  name: string | null;
  status: SweepStatus;
  created_at: Date;
  ended_at: Date | null;
  request: StoredSweep['request'];
  shape: number[];
  theory: StoredSweep['theory'];
  error: string | null;
  last_seq: number;
}

function fromRow(r: SweepRow): StoredSweep {
  return {
    id: r.id,
    owner: r.owner,
    name: r.name,
    status: r.status,
    createdAt: r.created_at.toISOString(),
    endedAt: r.ended_at === null ? null : r.ended_at.toISOString(),
    request: r.request,
    shape: r.shape,
    theory: r.theory,
    error: r.error,
    lastSeq: r.last_seq,
  };
}

/** Cells per INSERT when a sweep is created (arrays as parameters: one round trip per chunk). */
const INSERT_CHUNK = 5000;

const PATCH_COLUMNS: Record<keyof SweepPatch, string> = {
  status: 'status',
  endedAt: 'ended_at',
  error: 'error',
  lastSeq: 'last_seq',
};

export class PostgresSweepStore implements AsyncSweepStore {
  private readonly pool: pg.Pool;
  private readonly migrated: Promise<unknown>;
  private readonly writes: OrderedWrites;
  private closed = false;

  constructor(options: PgOptions, onPoolError?: (err: Error) => void) {
    this.pool = createPool(options, onPoolError);
    this.migrated = migrate(this.pool, options.schema);
    this.migrated.catch(() => {});
    this.writes = new OrderedWrites(this.migrated);
  }

  async ready(): Promise<void> {
    await this.migrated;
  }

  insert(sweep: StoredSweep, cells: SweepCell[]): Promise<void> {
    return this.write(sweep.id, () =>
      inTransaction(this.pool, async (c) => {
        await c.query(
          `INSERT INTO sweeps (id, owner, name, status, created_at, ended_at, request, shape, theory, error, last_seq)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
          [
            sweep.id,
            sweep.owner,
            sweep.name,
            sweep.status,
            sweep.createdAt,
            sweep.endedAt,
            JSON.stringify(sweep.request),
            JSON.stringify(sweep.shape),
            JSON.stringify(sweep.theory),
            sweep.error,
            sweep.lastSeq,
          ],
        );
        for (let i = 0; i < cells.length; i += INSERT_CHUNK) {
          const chunk = cells.slice(i, i + INSERT_CHUNK);
          await c.query(
            `INSERT INTO sweep_cells (sweep_id, idx, status, cell)
             SELECT $1, * FROM unnest($2::int[], $3::text[], $4::json[])`,
            [sweep.id, chunk.map((x) => x.index), chunk.map((x) => x.status), chunk.map((x) => JSON.stringify(x))],
          );
        }
      }),
    );
  }

  async get(id: string): Promise<StoredSweep | null> {
    await this.beforeRead(id);
    const { rows } = await this.pool.query<SweepRow>('SELECT * FROM sweeps WHERE id = $1', [id]);
    return rows.length ? fromRow(rows[0]) : null;
  }

  update(id: string, patch: SweepPatch): Promise<void> {
    const cols: string[] = [];
    const values: (string | number | null)[] = [];
    for (const key of Object.keys(PATCH_COLUMNS) as (keyof SweepPatch)[]) {
      if (patch[key] === undefined) continue;
      values.push(patch[key] as string | number | null);
      cols.push(`${PATCH_COLUMNS[key]} = $${values.length}`);
    }
    if (cols.length === 0) return this.write(id, async () => {});
    values.push(id);
    return this.write(id, async () => {
      await this.pool.query(`UPDATE sweeps SET ${cols.join(', ')} WHERE id = $${values.length}`, values);
    });
  }

  async cells(id: string): Promise<SweepCell[]> {
    await this.beforeRead(id);
    const { rows } = await this.pool.query<{ cell: SweepCell }>(
      'SELECT cell FROM sweep_cells WHERE sweep_id = $1 ORDER BY idx',
      [id],
    );
    return rows.map((r) => r.cell);
  }

  async cell(id: string, index: number): Promise<SweepCell | null> {
    await this.beforeRead(id);
    const { rows } = await this.pool.query<{ cell: SweepCell }>(
      'SELECT cell FROM sweep_cells WHERE sweep_id = $1 AND idx = $2',
      [id, index],
    );
    return rows.length ? rows[0].cell : null;
  }

  putCell(id: string, cell: SweepCell, seq?: number): Promise<void> {
    return this.putCells(id, [{ cell, seq }]);
  }

  putCells(id: string, writes: CellWrite[]): Promise<void> {
    return this.write(id, () =>
      inTransaction(this.pool, async (c) => {
        for (const w of writes) await putCellOn(c, id, w);
      }),
    );
  }

  endCell(id: string, cell: SweepCell): Promise<number> {
    return this.write(id, () =>
      inTransaction(this.pool, async (c) => {
        // Locks the sweep row first: concurrent ends of cells of this sweep queue here.
        const { rows } = await c.query<{ last_seq: number }>('SELECT last_seq FROM sweeps WHERE id = $1 FOR UPDATE', [
          id,
        ]);
        if (!rows.length) throw new Error(`no sweep ${id}`);
        const { rows: known } = await c.query<{ seq: number | null }>(
          'SELECT seq FROM sweep_cells WHERE sweep_id = $1 AND idx = $2',
          [id, cell.index],
        );
        if (!known.length) throw new Error(`sweep ${id} has no cell ${cell.index}`);
        if (known[0].seq !== null) return known[0].seq;
        const seq = rows[0].last_seq + 1;
        await putCellOn(c, id, { cell, seq });
        return seq;
      }),
    );
  }

  async counts(id: string): Promise<Record<CellStatus, number>> {
    await this.beforeRead(id);
    const { rows } = await this.pool.query<{ status: CellStatus; n: number }>(
      'SELECT status, count(*)::int AS n FROM sweep_cells WHERE sweep_id = $1 GROUP BY status',
      [id],
    );
    const counts = emptyCounts();
    for (const r of rows) counts[r.status] = r.n;
    return counts;
  }

  async ended(id: string, from: number, limit: number): Promise<CellEntry[]> {
    await this.beforeRead(id);
    const { rows } = await this.pool.query<{ seq: number; cell: SweepCell }>(
      `SELECT seq, cell FROM sweep_cells WHERE sweep_id = $1 AND seq IS NOT NULL AND seq >= $2
       ORDER BY seq LIMIT $3`,
      [id, Math.max(0, from), limit],
    );
    return rows;
  }

  async running(): Promise<string[]> {
    await this.beforeRead();
    const { rows } = await this.pool.query<{ id: string }>(
      "SELECT id FROM sweeps WHERE status = 'running' ORDER BY id",
    );
    return rows.map((r) => r.id);
  }

  async list(owner: Owner, limit: number): Promise<StoredSweep[]> {
    await this.beforeRead();
    const { rows } = await this.pool.query<SweepRow>(
      'SELECT * FROM sweeps WHERE ($1::text IS NULL OR owner = $1) ORDER BY id DESC LIMIT $2',
      [owner, limit],
    );
    return rows.map(fromRow);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([this.migrated, this.writes.settled()]);
    await this.pool.end();
  }

  private async write<T>(id: string, run: () => Promise<T>): Promise<T> {
    if (this.closed) throw new Error('the sweep store is closed');
    return this.writes.run(id, async () => {
      await this.migrated;
      return run();
    });
  }

  private async beforeRead(id?: string): Promise<void> {
    if (this.closed) throw new Error('the sweep store is closed');
    await this.migrated;
    await this.writes.settled(id);
  }
}

async function putCellOn(c: pg.PoolClient, id: string, w: CellWrite): Promise<void> {
  await c.query(
    'UPDATE sweep_cells SET cell = $1, status = $2, seq = COALESCE($3, seq) WHERE sweep_id = $4 AND idx = $5',
    [JSON.stringify(w.cell), w.cell.status, w.seq ?? null, id, w.cell.index],
  );
  if (w.seq !== undefined) await c.query('UPDATE sweeps SET last_seq = $1 WHERE id = $2', [w.seq, id]);
}
