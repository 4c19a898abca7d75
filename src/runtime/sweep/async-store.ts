/**
 * The sweep store as a networked backend needs it: the same records as SweepStore (./store.ts),
 * every call asynchronous, and two changes a store shared by several processes calls for:
 *
 * - `batch(fn)` (a synchronous transaction around other calls) becomes `putCells`, the writes it was
 *   used for, done as one transaction;
 * - `endCell` gives an ended cell the sweep's next seq *in the store*, atomically: with cells ending
 *   on several workers at once, a seq counted in one process's memory would be handed out twice.
 *   Ending a cell that already has a seq (a cell run again after a crash) keeps its seq, so the
 *   sweep's event log never holds a cell twice.
 *
 * `asAsync` adapts the embedded stores (memory, SQLite) to it, so one conformance suite
 * (test/distributed/sweep-store.test.ts) runs against all three; PostgresSweepStore is the
 * distributed one. The sweep service still uses the synchronous SweepStore; moving it onto this
 * interface is part of the distributed backend's remaining work (docs/scaling.md).
 */
import type { CellStatus, SweepCell } from '../../contract/sweep.js';
import type { Owner } from '../types.js';
import type { CellEntry, StoredSweep, SweepPatch, SweepStore } from './store.js';

export interface CellWrite {
  cell: SweepCell;
  /** Given when the cell has just ended: its event's seq, which becomes the sweep's lastSeq. */
  seq?: number;
}

export interface AsyncSweepStore {
  insert(sweep: StoredSweep, cells: SweepCell[]): Promise<void>;
  get(id: string): Promise<StoredSweep | null>;
  update(id: string, patch: SweepPatch): Promise<void>;
  /** Every cell in index order. */
  cells(id: string): Promise<SweepCell[]>;
  cell(id: string, index: number): Promise<SweepCell | null>;
  /** Replaces a cell's row (see CellWrite for `seq`). */
  putCell(id: string, cell: SweepCell, seq?: number): Promise<void>;
  /** Several putCell in one transaction: all land or none. */
  putCells(id: string, writes: CellWrite[]): Promise<void>;
  /**
   * Stores an ended cell under the sweep's next seq and returns that seq; a cell that already has
   * one keeps it (and its stored row: the first end wins).
   */
  endCell(id: string, cell: SweepCell): Promise<number>;
  /** Number of cells in each status. */
  counts(id: string): Promise<Record<CellStatus, number>>;
  /** Ended cells with seq ≥ from, in seq order, at most `limit`. */
  ended(id: string, from: number, limit: number): Promise<CellEntry[]>;
  /** Ids of sweeps still running, oldest first. */
  running(): Promise<string[]>;
  list(owner: Owner, limit: number): Promise<StoredSweep[]>;
  close(): Promise<void>;
}

/** The embedded (synchronous) stores behind the asynchronous interface. */
export function asAsync(store: SweepStore): AsyncSweepStore {
  return {
    insert: async (sweep, cells) => store.insert(sweep, cells),
    get: async (id) => store.get(id),
    update: async (id, patch) => store.update(id, patch),
    cells: async (id) => store.cells(id),
    cell: async (id, index) => store.cell(id, index),
    putCell: async (id, cell, seq) => store.putCell(id, cell, seq),
    putCells: async (id, writes) =>
      store.batch(() => {
        for (const w of writes) store.putCell(id, w.cell, w.seq);
      }),
    endCell: async (id, cell) => {
      let seq = -1;
      store.batch(() => {
        const sweep = store.get(id);
        if (!sweep) throw new Error(`no sweep ${id}`);
        // A cell already in the log keeps its place: look it up among the ended ones.
        const known = store.ended(id, 0, sweep.lastSeq + 1).find((e) => e.cell.index === cell.index);
        if (known) {
          seq = known.seq;
          return;
        }
        seq = sweep.lastSeq + 1;
        store.putCell(id, cell, seq);
      });
      return seq;
    },
    counts: async (id) => store.counts(id),
    ended: async (id, from, limit) => store.ended(id, from, limit),
    running: async () => store.running(),
    list: async (owner, limit) => store.list(owner, limit),
    close: async () => store.close(),
  };
}
