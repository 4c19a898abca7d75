/** One conformance suite for every sweep store. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type SweepCell, SweepRequest } from '../../src/contract/sweep.js';
import { pendingCell } from '../../src/runtime/sweep/grid.js';
import {
  MemorySweepStore,
  SqliteSweepStore,
  type StoredSweep,
  type SweepStore,
} from '../../src/runtime/sweep/store.js';

const NONE = { layerGradFactor: null, chi1: null, depthScale: null, lambda1: null, backwardGainBound: null };

function sweep(id: string, owner: string | null = null): StoredSweep {
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
    shape: [3],
    theory: [],
    error: null,
    lastSeq: -1,
  };
}

const cells = (): SweepCell[] => [0, 1, 2].map((i) => pendingCell(i, [i + 1], NONE));

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const backends: [string, () => { store: SweepStore; reopen?: () => SweepStore }][] = [
  ['memory', () => ({ store: new MemorySweepStore() })],
  [
    'sqlite',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'gl-sweep-store-'));
      dirs.push(dir);
      return { store: new SqliteSweepStore(dir), reopen: () => new SqliteSweepStore(dir) };
    },
  ],
];

describe.each(backends)('sweep store conformance: %s', (_name, make) => {
  it('evicts ended sweeps that ended before the cut-off, with their cells; never a running one', () => {
    const { store } = make();
    for (const id of ['old', 'new', 'run']) store.insert(sweep(id), cells());
    store.update('old', { status: 'succeeded', endedAt: '2026-01-01T00:00:00.000Z' });
    store.update('new', { status: 'cancelled', endedAt: '2026-01-03T00:00:00.000Z' });
    expect(store.evict('2026-01-02T00:00:00.000Z')).toEqual(['old']);
    expect(store.get('old')).toBeNull();
    expect(store.cells('old')).toEqual([]);
    expect(store.get('new')?.status).toBe('cancelled');
    expect(store.evict('2027-01-01T00:00:00.000Z')).toEqual(['new']);
    expect(store.get('run')?.status).toBe('running');
    expect(store.cells('run')).toHaveLength(3);
  });

  it('stores a sweep and its cells, and round-trips them', () => {
    const { store } = make();
    store.insert(sweep('a'), cells());
    expect(store.get('a')).toEqual(sweep('a'));
    expect(store.cells('a')).toEqual(cells());
    expect(store.cell('a', 1)).toEqual(cells()[1]);
    expect(store.get('nope')).toBeNull();
    expect(store.cell('a', 9)).toBeNull();
    store.close();
  });

  it('ended cells form the event log in seq order; replay from any seq', () => {
    const { store } = make();
    store.insert(sweep('a'), cells());
    const c = cells();
    store.putCell('a', { ...c[2], status: 'queued', jobId: 'j2' });
    expect(store.ended('a', 0, 10)).toEqual([]);
    store.putCell('a', { ...c[2], status: 'succeeded', jobId: 'j2', finalLoss: 'NaN' }, 0);
    store.putCell('a', { ...c[0], status: 'cancelled' }, 1);
    expect(store.get('a')!.lastSeq).toBe(1);
    expect(store.ended('a', 0, 10).map((e) => [e.seq, e.cell.index])).toEqual([
      [0, 2],
      [1, 0],
    ]);
    expect(store.ended('a', 1, 10).map((e) => e.seq)).toEqual([1]);
    expect(store.ended('a', 0, 1).map((e) => e.seq)).toEqual([0]);
    expect(store.ended('a', 0, 10)[0].cell.finalLoss).toBe('NaN');
    expect(store.counts('a')).toEqual({ pending: 1, queued: 0, running: 0, succeeded: 1, failed: 0, cancelled: 1 });
    store.close();
  });

  it('updates status, lists by owner, and finds running sweeps', () => {
    const { store } = make();
    store.insert(sweep('a', 'alice'), cells());
    store.insert(sweep('b', 'bob'), cells());
    store.update('a', { status: 'succeeded', endedAt: '2026-01-01T00:01:00.000Z', error: 'x' });
    expect(store.get('a')).toMatchObject({ status: 'succeeded', endedAt: '2026-01-01T00:01:00.000Z', error: 'x' });
    expect(store.running()).toEqual(['b']);
    expect(store.list('alice', 10).map((s) => s.id)).toEqual(['a']);
    expect(store.list(null, 10).map((s) => s.id)).toEqual(['b', 'a']);
    store.close();
  });

  it('survives a reopen (durable backends)', () => {
    const { store, reopen } = make();
    if (!reopen) return;
    store.insert(sweep('a'), cells());
    store.putCell('a', { ...cells()[1], status: 'failed' }, 0);
    store.close();
    const again = reopen();
    expect(again.get('a')!.lastSeq).toBe(0);
    expect(again.ended('a', 0, 10).map((e) => e.cell.index)).toEqual([1]);
    again.close();
  });
});
