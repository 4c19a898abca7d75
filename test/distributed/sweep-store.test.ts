/**
 * The asynchronous sweep store (src/runtime/sweep/async-store.ts): one conformance suite for the
 * embedded stores behind `asAsync` and for PostgreSQL (real server, a fresh schema per test, all
 * dropped when the file ends). The scenarios of test/sweep/store.test.ts, plus what a store shared
 * by several processes adds: seqs handed out by the store, once per cell, whoever ends it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type SweepCell, SweepRequest } from '../../src/contract/sweep.js';
import { type AsyncSweepStore, asAsync } from '../../src/runtime/sweep/async-store.js';
import { pendingCell } from '../../src/runtime/sweep/grid.js';
import { PostgresSweepStore } from '../../src/runtime/sweep/postgres.js';
import { MemorySweepStore, SqliteSweepStore, type StoredSweep } from '../../src/runtime/sweep/store.js';
import { DATABASE_URL, postgresSkipReason, TestSchemas } from './engines.js';

const NONE = { layerGradFactor: null, chi1: null, depthScale: null, lambda1: null, backwardGainBound: null };

function sweep(id: string, owner: string | null = null, n = 3): StoredSweep {
  return {
    id,
    owner,
    name: 'test',
    status: 'running',
    createdAt: '2026-01-01T00:00:00.000Z',
    endedAt: null,
    request: SweepRequest.parse({
      base: { network: { kind: 'linear', depth: 2 } },
      axes: [{ path: 'seed', values: [1, 2, 3] }],
    }),
    // The store keeps the request as given; only the shape says how many cells there are.
    shape: [n],
    theory: [],
    error: null,
    lastSeq: -1,
  };
}

const cells = (n = 3): SweepCell[] => Array.from({ length: n }, (_, i) => pendingCell(i, [i + 1], NONE));

interface Opened {
  store: AsyncSweepStore;
  /** Another handle on the same data (another process, for a networked store). */
  other?: () => AsyncSweepStore;
}

const dirs: string[] = [];
const handles: AsyncSweepStore[] = [];
const schemas = new TestSchemas();
afterEach(async () => {
  for (const h of handles.splice(0)) await h.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
afterAll(() => schemas.dropAll());

const pgSkip = await postgresSkipReason();
const track = (s: AsyncSweepStore) => {
  handles.push(s);
  return s;
};

const backends: { name: string; skip: string | null; make: () => Opened }[] = [
  { name: 'memory', skip: null, make: () => ({ store: track(asAsync(new MemorySweepStore())) }) },
  {
    name: 'sqlite',
    skip: null,
    make() {
      const dir = mkdtempSync(join(tmpdir(), 'gl-async-sweep-'));
      dirs.push(dir);
      return {
        store: track(asAsync(new SqliteSweepStore(dir))),
        other: () => track(asAsync(new SqliteSweepStore(dir))),
      };
    },
  },
  {
    name: 'postgres',
    skip: pgSkip,
    make() {
      const schema = schemas.next();
      const connect = () => track(new PostgresSweepStore({ connectionString: DATABASE_URL, schema, max: 4 }));
      return { store: connect(), other: connect };
    },
  },
];

for (const b of backends) {
  describe.skipIf(Boolean(b.skip))(`async sweep store conformance: ${b.name}${b.skip ? ` (${b.skip})` : ''}`, () => {
    it('stores a sweep and its cells, and round-trips them', async () => {
      const { store } = b.make();
      await store.insert(sweep('a'), cells());
      expect(await store.get('a')).toEqual(sweep('a'));
      expect(await store.cells('a')).toEqual(cells());
      expect(await store.cell('a', 1)).toEqual(cells()[1]);
      expect(await store.get('nope')).toBeNull();
      expect(await store.cell('a', 9)).toBeNull();
    });

    it('ended cells form the event log in seq order; replay from any seq', async () => {
      const { store } = b.make();
      await store.insert(sweep('a'), cells());
      const c = cells();
      await store.putCell('a', { ...c[2], status: 'queued', jobId: 'j2' });
      expect(await store.ended('a', 0, 10)).toEqual([]);
      await store.putCell('a', { ...c[2], status: 'succeeded', jobId: 'j2', finalLoss: 'NaN' }, 0);
      await store.putCell('a', { ...c[0], status: 'cancelled' }, 1);
      expect((await store.get('a'))!.lastSeq).toBe(1);
      expect((await store.ended('a', 0, 10)).map((e) => [e.seq, e.cell.index])).toEqual([
        [0, 2],
        [1, 0],
      ]);
      expect((await store.ended('a', 1, 10)).map((e) => e.seq)).toEqual([1]);
      expect((await store.ended('a', 0, 1)).map((e) => e.seq)).toEqual([0]);
      expect((await store.ended('a', 0, 10))[0].cell.finalLoss).toBe('NaN');
      expect(await store.counts('a')).toEqual({
        pending: 1,
        queued: 0,
        running: 0,
        succeeded: 1,
        failed: 0,
        cancelled: 1,
      });
    });

    it('updates status, lists by owner, and finds running sweeps', async () => {
      const { store } = b.make();
      await store.insert(sweep('a', 'alice'), cells());
      await store.insert(sweep('b', 'bob'), cells());
      await store.update('a', { status: 'succeeded', endedAt: '2026-01-01T00:01:00.000Z', error: 'x' });
      expect(await store.get('a')).toMatchObject({
        status: 'succeeded',
        endedAt: '2026-01-01T00:01:00.000Z',
        error: 'x',
      });
      expect(await store.running()).toEqual(['b']);
      expect((await store.list('alice', 10)).map((s) => s.id)).toEqual(['a']);
      expect((await store.list(null, 10)).map((s) => s.id)).toEqual(['b', 'a']);
    });

    it('a read sees the writes issued before it, even those not yet awaited', async () => {
      const { store } = b.make();
      void store.insert(sweep('a'), cells());
      void store.putCell('a', { ...cells()[1], status: 'running', jobId: 'j1' });
      void store.update('a', { error: 'e' });
      expect((await store.cell('a', 1))?.status).toBe('running');
      expect((await store.get('a'))?.error).toBe('e');
    });

    it('putCells writes several cells at once (a cancelled sweep)', async () => {
      const { store } = b.make();
      await store.insert(sweep('a'), cells());
      await store.putCells(
        'a',
        cells().map((cell, seq) => ({ cell: { ...cell, status: 'cancelled' as const }, seq })),
      );
      expect((await store.get('a'))!.lastSeq).toBe(2);
      expect((await store.counts('a')).cancelled).toBe(3);
      expect((await store.ended('a', 0, 10)).map((e) => e.seq)).toEqual([0, 1, 2]);
    });

    it('endCell hands out the next seq; a cell ended again keeps its first seq and row', async () => {
      const { store } = b.make();
      await store.insert(sweep('a'), cells());
      const c = cells();
      expect(await store.endCell('a', { ...c[1], status: 'succeeded', finalLoss: 0.5 })).toBe(0);
      expect(await store.endCell('a', { ...c[0], status: 'failed' })).toBe(1);
      // A re-run of cell 1 (its job ran twice after a crash) ends it again: same seq, no new event.
      expect(await store.endCell('a', { ...c[1], status: 'succeeded', finalLoss: 0.5 })).toBe(0);
      expect((await store.get('a'))!.lastSeq).toBe(1);
      expect((await store.ended('a', 0, 10)).map((e) => [e.seq, e.cell.index])).toEqual([
        [0, 1],
        [1, 0],
      ]);
      await expect(store.endCell('nope', c[0])).rejects.toThrow();
    });

    it('cells ended at once through two handles (two processes) get distinct, consecutive seqs', async (ctx) => {
      const { store, other } = b.make();
      if (!other) ctx.skip();
      const n = 40;
      await store.insert(sweep('a', null, n), cells(n));
      const second = other!();
      const all = cells(n);
      const seqs = await Promise.all(
        all.map((cell, i) => (i % 2 ? second : store).endCell('a', { ...cell, status: 'succeeded' })),
      );
      expect([...seqs].sort((x, y) => x - y)).toEqual(all.map((_, i) => i));
      const log = await second.ended('a', 0, n + 1);
      expect(log.map((e) => e.seq)).toEqual(all.map((_, i) => i));
      expect(new Set(log.map((e) => e.cell.index)).size).toBe(n);
      expect((await store.get('a'))!.lastSeq).toBe(n - 1);
    });

    it('stores a 6,000-cell sweep (two insert chunks) and reads it back in index order', async () => {
      const { store } = b.make();
      const n = 6_000;
      await store.insert(sweep('big', null, n), cells(n));
      const back = await store.cells('big');
      expect(back.length).toBe(n);
      expect(back.every((c, i) => c.index === i)).toBe(true);
      expect((await store.counts('big')).pending).toBe(n);
    });

    it('survives a reopen (durable backends)', async (ctx) => {
      const { store, other } = b.make();
      if (!other) ctx.skip();
      await store.insert(sweep('a'), cells());
      await store.putCell('a', { ...cells()[1], status: 'failed' }, 0);
      await store.close();
      const again = other!();
      expect((await again.get('a'))!.lastSeq).toBe(0);
      expect((await again.ended('a', 0, 10)).map((e) => e.cell.index)).toEqual([1]);
    });
  });
}
