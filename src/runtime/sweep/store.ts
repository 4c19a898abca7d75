/**
 * Where sweeps live: the sweep record and one row per cell. A cell that ends gets the sweep's next
 * event seq, so the event log is the cells ordered by seq (plus the final `done`), and replay from
 * any `from` is a range read. Two implementations behind one narrow, synchronous interface:
 * memory (tests) and SQLite (better-sqlite3, WAL, its own file beside the job store).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { CellStatus, SweepCell, SweepRequest, SweepStatus, TheoryLine } from '../../contract/sweep.js';
import type { Owner } from '../types.js';
import { emptyCounts } from './grid.js';

export interface StoredSweep {
  id: string;
  owner: Owner;
  name: string | null;
  status: SweepStatus;
  createdAt: string;
  endedAt: string | null;
  request: SweepRequest;
  shape: number[];
  theory: TheoryLine[];
  error: string | null;
  /** seq of the last event written (−1 before the first). */
  lastSeq: number;
}

export type SweepPatch = Partial<Pick<StoredSweep, 'status' | 'endedAt' | 'error' | 'lastSeq'>>;

export interface CellEntry {
  seq: number;
  cell: SweepCell;
}

export interface SweepStore {
  insert(sweep: StoredSweep, cells: SweepCell[]): void;
  get(id: string): StoredSweep | null;
  update(id: string, patch: SweepPatch): void;
  /** Every cell in index order. */
  cells(id: string): SweepCell[];
  cell(id: string, index: number): SweepCell | null;
  /**
   * Replaces a cell's row; `seq` is given when the cell has just ended (its event's seq) and
   * becomes the sweep's lastSeq in the same write.
   */
  putCell(id: string, cell: SweepCell, seq?: number): void;
  /** Runs `fn` as one write (a single transaction where the backend has them). */
  batch(fn: () => void): void;
  /** Number of cells in each status. */
  counts(id: string): Record<CellStatus, number>;
  /** Ended cells with seq ≥ from, in seq order, at most `limit`. */
  ended(id: string, from: number, limit: number): CellEntry[];
  /** Ids of sweeps still running (to resume after a restart), oldest first. */
  running(): string[];
  list(owner: Owner, limit: number): StoredSweep[];
  /** Deletes ended sweeps (and their cells) that ended before `endedBefore` (ISO time); returns their ids. */
  evict(endedBefore: string): string[];
  close(): void;
}

export class MemorySweepStore implements SweepStore {
  readonly #sweeps = new Map<string, StoredSweep>();
  readonly #cells = new Map<string, SweepCell[]>();
  readonly #bySeq = new Map<string, number[]>();

  insert(sweep: StoredSweep, cells: SweepCell[]): void {
    this.#sweeps.set(sweep.id, structuredClone(sweep));
    this.#cells.set(sweep.id, structuredClone(cells));
    this.#bySeq.set(sweep.id, []);
  }
  get(id: string): StoredSweep | null {
    const s = this.#sweeps.get(id);
    return s ? structuredClone(s) : null;
  }
  update(id: string, patch: SweepPatch): void {
    const s = this.#sweeps.get(id);
    if (s) Object.assign(s, patch);
  }
  cells(id: string): SweepCell[] {
    return structuredClone(this.#cells.get(id) ?? []);
  }
  cell(id: string, index: number): SweepCell | null {
    const c = this.#cells.get(id)?.[index];
    return c ? structuredClone(c) : null;
  }
  putCell(id: string, cell: SweepCell, seq?: number): void {
    const cells = this.#cells.get(id);
    if (!cells) return;
    cells[cell.index] = structuredClone(cell);
    if (seq !== undefined) {
      this.#bySeq.get(id)![seq] = cell.index;
      this.update(id, { lastSeq: seq });
    }
  }
  batch(fn: () => void): void {
    fn();
  }
  counts(id: string): Record<CellStatus, number> {
    const counts = emptyCounts();
    for (const c of this.#cells.get(id) ?? []) counts[c.status]++;
    return counts;
  }
  ended(id: string, from: number, limit: number): CellEntry[] {
    const order = this.#bySeq.get(id) ?? [];
    const cells = this.#cells.get(id) ?? [];
    const out: CellEntry[] = [];
    for (let seq = Math.max(0, from); seq < order.length && out.length < limit; seq++)
      out.push({ seq, cell: structuredClone(cells[order[seq]]) });
    return out;
  }
  running(): string[] {
    return [...this.#sweeps.values()].filter((s) => s.status === 'running').map((s) => s.id);
  }
  list(owner: Owner, limit: number): StoredSweep[] {
    return [...this.#sweeps.values()]
      .filter((s) => owner === null || s.owner === owner)
      .sort((a, b) => (a.id < b.id ? 1 : -1))
      .slice(0, limit)
      .map((s) => structuredClone(s));
  }
  evict(endedBefore: string): string[] {
    const gone = [...this.#sweeps.values()]
      .filter((s) => s.status !== 'running' && s.endedAt !== null && s.endedAt < endedBefore)
      .map((s) => s.id);
    for (const id of gone) {
      this.#sweeps.delete(id);
      this.#cells.delete(id);
      this.#bySeq.delete(id);
    }
    return gone;
  }
  close(): void {}
}

export const SWEEP_DB_FILE = 'sweeps.sqlite';

// Versioned by PRAGMA user_version: migration i brings the schema from version i to i + 1.
const MIGRATIONS = [
  `CREATE TABLE sweeps (
     id TEXT PRIMARY KEY,
     owner TEXT,
     name TEXT,
     status TEXT NOT NULL,
     created_at TEXT NOT NULL,
     ended_at TEXT,
     request TEXT NOT NULL,
     shape TEXT NOT NULL,
     theory TEXT NOT NULL,
     error TEXT,
     last_seq INTEGER NOT NULL
   );
   CREATE INDEX sweeps_status ON sweeps (status);
   CREATE TABLE sweep_cells (
     sweep_id TEXT NOT NULL,
     idx INTEGER NOT NULL,
     seq INTEGER,
     cell TEXT NOT NULL,
     PRIMARY KEY (sweep_id, idx)
   ) WITHOUT ROWID;
   CREATE UNIQUE INDEX sweep_cells_seq ON sweep_cells (sweep_id, seq) WHERE seq IS NOT NULL;`,
];

interface SweepRow {
  id: string;
  owner: string | null;
  name: string | null;
  status: SweepStatus;
  created_at: string;
  ended_at: string | null;
  request: string;
  shape: string;
  theory: string;
  error: string | null;
  last_seq: number;
}

function fromRow(r: SweepRow): StoredSweep {
  return {
    id: r.id,
    owner: r.owner,
    name: r.name,
    status: r.status,
    createdAt: r.created_at,
    endedAt: r.ended_at,
    request: JSON.parse(r.request),
    shape: JSON.parse(r.shape),
    theory: JSON.parse(r.theory),
    error: r.error,
    lastSeq: r.last_seq,
  };
}

/** Numbers in a cell are finite or already encoded as "NaN"/"Infinity" strings, so JSON is lossless. */
export class SqliteSweepStore implements SweepStore {
  readonly #db: Database.Database;
  readonly #stmt;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.#db = new Database(join(dataDir, SWEEP_DB_FILE));
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.pragma('busy_timeout = 5000');
    const version = this.#db.pragma('user_version', { simple: true }) as number;
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.#db.transaction(() => {
        this.#db.exec(MIGRATIONS[v]);
        this.#db.pragma(`user_version = ${v + 1}`);
      })();
    }
    const db = this.#db;
    this.#stmt = {
      insertSweep: db.prepare(
        `INSERT INTO sweeps (id, owner, name, status, created_at, ended_at, request, shape, theory, error, last_seq)
         VALUES (@id, @owner, @name, @status, @created_at, @ended_at, @request, @shape, @theory, @error, @last_seq)`,
      ),
      insertCell: db.prepare('INSERT INTO sweep_cells (sweep_id, idx, seq, cell) VALUES (?, ?, NULL, ?)'),
      get: db.prepare('SELECT * FROM sweeps WHERE id = ?'),
      cells: db.prepare('SELECT cell FROM sweep_cells WHERE sweep_id = ? ORDER BY idx').pluck(),
      cell: db.prepare('SELECT cell FROM sweep_cells WHERE sweep_id = ? AND idx = ?').pluck(),
      putCell: db.prepare('UPDATE sweep_cells SET cell = ?, seq = COALESCE(?, seq) WHERE sweep_id = ? AND idx = ?'),
      ended: db.prepare(
        'SELECT seq, cell FROM sweep_cells WHERE sweep_id = ? AND seq >= ? AND seq IS NOT NULL ORDER BY seq LIMIT ?',
      ),
      counts: db.prepare(
        "SELECT json_extract(cell, '$.status') AS status, count(*) AS n FROM sweep_cells WHERE sweep_id = ? GROUP BY status",
      ),
      lastSeq: db.prepare('UPDATE sweeps SET last_seq = ? WHERE id = ?'),
      running: db.prepare("SELECT id FROM sweeps WHERE status = 'running' ORDER BY id").pluck(),
      list: db.prepare('SELECT * FROM sweeps WHERE (@owner IS NULL OR owner = @owner) ORDER BY id DESC LIMIT @limit'),
      expired: db
        .prepare("SELECT id FROM sweeps WHERE status != 'running' AND ended_at IS NOT NULL AND ended_at < ?")
        .pluck(),
      deleteCells: db.prepare('DELETE FROM sweep_cells WHERE sweep_id = ?'),
      deleteSweep: db.prepare('DELETE FROM sweeps WHERE id = ?'),
    };
  }

  insert(sweep: StoredSweep, cells: SweepCell[]): void {
    this.#db.transaction(() => {
      this.#stmt.insertSweep.run({
        id: sweep.id,
        owner: sweep.owner,
        name: sweep.name,
        status: sweep.status,
        created_at: sweep.createdAt,
        ended_at: sweep.endedAt,
        request: JSON.stringify(sweep.request),
        shape: JSON.stringify(sweep.shape),
        theory: JSON.stringify(sweep.theory),
        error: sweep.error,
        last_seq: sweep.lastSeq,
      });
      for (const c of cells) this.#stmt.insertCell.run(sweep.id, c.index, JSON.stringify(c));
    })();
  }
  get(id: string): StoredSweep | null {
    const row = this.#stmt.get.get(id) as SweepRow | undefined;
    return row ? fromRow(row) : null;
  }
  update(id: string, patch: SweepPatch): void {
    const columns: Record<keyof SweepPatch, string> = {
      status: 'status',
      endedAt: 'ended_at',
      error: 'error',
      lastSeq: 'last_seq',
    };
    const cols: string[] = [];
    const values: (string | number | null)[] = [];
    for (const key of Object.keys(columns) as (keyof SweepPatch)[]) {
      if (patch[key] === undefined) continue;
      cols.push(`${columns[key]} = ?`);
      values.push(patch[key] as string | number | null);
    }
    if (cols.length === 0) return;
    this.#db.prepare(`UPDATE sweeps SET ${cols.join(', ')} WHERE id = ?`).run(...values, id);
  }
  cells(id: string): SweepCell[] {
    return (this.#stmt.cells.all(id) as string[]).map((s) => JSON.parse(s));
  }
  cell(id: string, index: number): SweepCell | null {
    const s = this.#stmt.cell.get(id, index) as string | undefined;
    return s === undefined ? null : JSON.parse(s);
  }
  putCell(id: string, cell: SweepCell, seq?: number): void {
    if (seq === undefined) {
      this.#stmt.putCell.run(JSON.stringify(cell), null, id, cell.index);
      return;
    }
    this.#db.transaction(() => {
      this.#stmt.putCell.run(JSON.stringify(cell), seq, id, cell.index);
      this.#stmt.lastSeq.run(seq, id);
    })();
  }
  batch(fn: () => void): void {
    this.#db.transaction(fn)();
  }
  counts(id: string): Record<CellStatus, number> {
    const counts = emptyCounts();
    for (const r of this.#stmt.counts.all(id) as { status: CellStatus; n: number }[]) counts[r.status] = r.n;
    return counts;
  }
  ended(id: string, from: number, limit: number): CellEntry[] {
    return (this.#stmt.ended.all(id, Math.max(0, from), limit) as { seq: number; cell: string }[]).map((r) => ({
      seq: r.seq,
      cell: JSON.parse(r.cell),
    }));
  }
  running(): string[] {
    return this.#stmt.running.all() as string[];
  }
  list(owner: Owner, limit: number): StoredSweep[] {
    return (this.#stmt.list.all({ owner, limit }) as SweepRow[]).map(fromRow);
  }
  evict(endedBefore: string): string[] {
    return this.#db.transaction(() => {
      const ids = this.#stmt.expired.all(endedBefore) as string[];
      for (const id of ids) {
        this.#stmt.deleteCells.run(id);
        this.#stmt.deleteSweep.run(id);
      }
      return ids;
    })();
  }
  close(): void {
    if (this.#db.open) this.#db.close();
  }
}
