/**
 * One suite, every JobStore implementation. To add a backend, add an entry to BACKENDS whose `open`
 * gives a fresh, empty store and whose `reopen` gives a new handle on the same data, and `skip` the
 * reason it cannot run here (null when it can). PostgreSQL runs against the real server
 * (test/distributed/engines.ts): a fresh schema per test, all of this file's dropped at its end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { JobSpec } from '../../src/contract/spec.js';
import { newId } from '../../src/runtime/ids.js';
import { MemoryJobStore } from '../../src/runtime/store/memory.js';
import { PostgresJobStore } from '../../src/runtime/store/postgres.js';
import { SqliteJobStore } from '../../src/runtime/store/sqlite.js';
import type { JobStore, StoredJob, StoredResult } from '../../src/runtime/store/types.js';
import { Telemetry } from '../../src/runtime/telemetry.js';
import { DATABASE_URL, postgresSkipReason, TestSchemas } from '../distributed/engines.js';
import { chunkOfRows } from './helpers.js';

interface Backend {
  name: string;
  skip?: string | null;
  open(): { store: JobStore; reopen: (() => JobStore) | null; cleanup(): void };
}

const schemas = new TestSchemas();
afterAll(() => schemas.dropAll());

const BACKENDS: Backend[] = [
  {
    name: 'memory',
    open: () => ({ store: new MemoryJobStore(), reopen: null, cleanup() {} }),
  },
  {
    name: 'sqlite',
    open() {
      const dir = mkdtempSync(join(tmpdir(), 'gl-store-'));
      return {
        store: new SqliteJobStore(dir),
        reopen: () => new SqliteJobStore(dir),
        cleanup: () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  },
  {
    name: 'postgres',
    skip: await postgresSkipReason(),
    open() {
      const schema = schemas.next();
      const connect = () => new PostgresJobStore({ connectionString: DATABASE_URL, schema, max: 4 });
      return { store: connect(), reopen: connect, cleanup() {} };
    },
  },
];

const spec = JobSpec.parse({ network: { kind: 'linear', depth: 3 }, training: { steps: 5 } });

function job(over: Partial<StoredJob> = {}): StoredJob {
  return {
    id: newId(),
    name: null,
    status: 'queued',
    owner: null,
    sweepId: null,
    spec,
    createdAt: new Date().toISOString(),
    startedAt: null,
    endedAt: null,
    step: 0,
    summary: null,
    error: null,
    lastSeq: -1,
    kernels: 'exact',
    ...over,
  };
}

/** A small series with non-finite values in it, to check the bytes survive as they are. */
function result(records = 4, hidden = 3): StoredResult {
  const shape = { layerNames: ['W1', 'W2'], layerCount: 2, hiddenLength: hidden };
  const t = new Telemetry(shape);
  const width = 1 + 5 + 6 + hidden;
  const rows = new Float64Array(records * width);
  for (let i = 0; i < rows.length; i++) rows[i] = i % width === 0 ? i / width + 1 : Math.sin(i) * 10 ** (i % 7);
  rows[width + 1] = Number.NaN;
  rows[2 * width + 2] = Number.POSITIVE_INFINITY;
  rows[2 * width + 3] = Number.NEGATIVE_INFINITY;
  t.appendColumns(chunkOfRows(shape, rows, records));
  return {
    series: t.toBlob(),
    nonFinite: {
      info: { step: 2, where: 'loss', tensor: 'loss', layer: null, value: 'NaN' },
      afterRecord: 1,
    },
    done: { type: 'done', seq: records + 1, status: 'succeeded', summary: null },
  };
}

function bytes(u: Uint8Array): number[] {
  return Array.from(u);
}

for (const backend of BACKENDS) {
  const title = `JobStore conformance: ${backend.name}${backend.skip ? ` (${backend.skip})` : ''}`;
  describe.skipIf(Boolean(backend.skip))(title, () => {
    let opened: ReturnType<Backend['open']> | null = null;
    const extra: JobStore[] = [];
    const open = () => {
      opened = backend.open();
      return opened;
    };
    afterEach(async () => {
      for (const s of extra.splice(0)) await s.close();
      await opened?.store.close();
      opened?.cleanup();
      opened = null;
    });

    it('inserts and reads back a job exactly', async () => {
      const { store } = open();
      const j = job({ name: 'n', owner: 'k1', sweepId: 's1' });
      await store.insert(j);
      expect(await store.get(j.id)).toEqual(j);
      expect(await store.get('nope')).toBeNull();
      await expect(store.insert(j)).rejects.toThrow();
    });

    it('writes issued together all land, except one that fails, which fails alone', async () => {
      const { store } = open();
      const a = job();
      const b = job();
      const c = job();
      await store.insert(a);
      const endedB: StoredJob = { ...b, status: 'succeeded', endedAt: new Date().toISOString(), lastSeq: 5 };
      // Issued in one turn: group-committing stores put them in one transaction.
      const settled = await Promise.allSettled([
        store.insert(b),
        store.insert(a), // duplicate id
        store.insert(c),
        store.setRunning(c.id, c.createdAt),
        store.finish(endedB, result()),
      ]);
      expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
      expect(await store.get(a.id)).toEqual(a);
      expect(await store.get(b.id)).toEqual(endedB);
      expect(await store.get(c.id)).toMatchObject({ status: 'running', startedAt: c.createdAt });
      expect((await store.getResult(b.id))?.done).toEqual(result().done);
    });

    it('a read sees every write issued before it, even one not yet awaited', async () => {
      const { store, reopen } = open();
      const j = job();
      const written = store.insert(j);
      expect(await store.get(j.id)).toEqual(j);
      expect((await store.list({ owner: null, limit: 10 })).map((x) => x.id)).toEqual([j.id]);
      await written;
      // Settled means committed: another connection on the same data sees it too.
      if (reopen) {
        const other = reopen();
        extra.push(other);
        expect(await other.get(j.id)).toEqual(j);
      }
    });

    it('moves a job between queued and running', async () => {
      const { store } = open();
      const j = job();
      await store.insert(j);
      const t = new Date().toISOString();
      await store.setRunning(j.id, t);
      expect(await store.get(j.id)).toMatchObject({ status: 'running', startedAt: t });
      await store.setRunning(j.id, null);
      expect(await store.get(j.id)).toMatchObject({ status: 'queued', startedAt: null });
    });

    it('finishes a job with its result, byte for byte', async () => {
      const { store } = open();
      const j = job();
      await store.insert(j);
      const r = result();
      const ended: StoredJob = {
        ...j,
        status: 'succeeded',
        startedAt: j.createdAt,
        endedAt: new Date().toISOString(),
        step: 4,
        lastSeq: r.done.seq,
      };
      await store.finish(ended, r);
      expect(await store.get(j.id)).toEqual(ended);
      const back = (await store.getResult(j.id))!;
      expect(back.series.shape).toEqual(r.series.shape);
      expect(back.series.length).toBe(r.series.length);
      expect(bytes(back.series.steps)).toEqual(bytes(r.series.steps));
      expect(bytes(back.series.values)).toEqual(bytes(r.series.values));
      expect(bytes(back.series.hidden)).toEqual(bytes(r.series.hidden));
      expect(back.nonFinite).toEqual(r.nonFinite);
      expect(back.done).toEqual(r.done);
      const t = Telemetry.fromBlob(back.series).view();
      expect(Number.isNaN(t.loss[1])).toBe(true);
      expect(t.gradNorm[2]).toBe(Number.POSITIVE_INFINITY);
      expect(t.clippedGradNorm[2]).toBe(Number.NEGATIVE_INFINITY);
      expect(await store.getResult('nope')).toBeNull();
    });

    it('lists newest first with owner, status and sweep filters and a before-cursor', async () => {
      const { store } = open();
      const jobs = [
        job({ owner: 'a' }),
        job({ owner: 'b' }),
        job({ owner: 'a', status: 'running' }),
        job({ owner: 'a', sweepId: 's' }),
        job({ owner: 'b', sweepId: 's' }),
      ];
      for (const j of jobs) await store.insert(j);
      const ids = (xs: StoredJob[]) => xs.map((x) => x.id);
      expect(ids(await store.list({ owner: null, limit: 10 }))).toEqual(ids([...jobs].reverse()));
      expect(ids(await store.list({ owner: 'a', limit: 10 }))).toEqual([jobs[3].id, jobs[2].id, jobs[0].id]);
      expect(ids(await store.list({ owner: null, status: 'running', limit: 10 }))).toEqual([jobs[2].id]);
      expect(ids(await store.list({ owner: null, sweepId: 's', limit: 10 }))).toEqual([jobs[4].id, jobs[3].id]);
      // singles: only the jobs submitted on their own (no sweep cells); ignored when a sweep is named.
      expect(ids(await store.list({ owner: null, singles: true, limit: 10 }))).toEqual(
        ids([jobs[2], jobs[1], jobs[0]]),
      );
      expect(ids(await store.list({ owner: 'a', singles: true, limit: 10 }))).toEqual([jobs[2].id, jobs[0].id]);
      expect(ids(await store.list({ owner: null, singles: true, sweepId: 's', limit: 10 }))).toEqual([
        jobs[4].id,
        jobs[3].id,
      ]);
      const page1 = await store.list({ owner: null, limit: 2 });
      const page2 = await store.list({ owner: null, limit: 2, before: page1[1].id });
      const page3 = await store.list({ owner: null, limit: 2, before: page2[1].id });
      expect(ids([...page1, ...page2, ...page3])).toEqual(ids([...jobs].reverse()));
    });

    it('reports unfinished jobs oldest first and counts by status', async () => {
      const { store } = open();
      const a = job();
      const b = job({ status: 'running', startedAt: new Date().toISOString() });
      const c = job();
      for (const j of [a, b, c]) await store.insert(j);
      await store.finish({ ...c, status: 'cancelled', endedAt: new Date().toISOString() }, result(0, 0));
      expect((await store.unfinished()).map((j) => j.id)).toEqual([a.id, b.id]);
      expect(await store.countByStatus()).toEqual({ queued: 1, running: 1, succeeded: 0, failed: 0, cancelled: 1 });
    });

    it('evicts only ended jobs: by age, then the oldest beyond maxJobs', async () => {
      const { store } = open();
      const now = Date.parse('2026-01-01T12:00:00Z');
      const endedAt = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();
      const old1 = job({ status: 'succeeded', endedAt: endedAt(120) });
      const old2 = job({ status: 'failed', endedAt: endedAt(90) });
      const mid = job({ status: 'succeeded', endedAt: endedAt(30) });
      const recent = job({ status: 'cancelled', endedAt: endedAt(1) });
      const queued = job();
      const running = job({ status: 'running' });
      for (const j of [queued, old1, old2, mid, running, recent]) await store.insert(j);
      for (const j of [old1, old2, mid, recent]) await store.finish(j, result(2, 0));

      const byTtl = await store.evict({ ttlMs: 60 * 60_000, maxJobs: null, now });
      expect(byTtl.map((j) => j.id).sort()).toEqual([old1.id, old2.id].sort());
      expect(await store.get(old1.id)).toBeNull();
      expect(await store.getResult(old1.id)).toBeNull();

      // 4 jobs left, at most 2: the two ended ones go, oldest first; unfinished jobs are never evicted.
      const byCount = await store.evict({ ttlMs: null, maxJobs: 2, now });
      expect(byCount.map((j) => j.id)).toEqual([mid.id, recent.id]);
      expect((await store.list({ owner: null, limit: 10 })).map((j) => j.id).sort()).toEqual(
        [queued.id, running.id].sort(),
      );
      expect(await store.evict({ ttlMs: 0, maxJobs: 0, now })).toEqual([]);
    });

    it('is writable while open and refuses work once closed', async () => {
      const { store } = open();
      await expect(store.checkWritable()).resolves.toBeUndefined();
      await store.close();
      await expect(store.checkWritable()).rejects.toThrow();
    });

    it('keeps everything across a reopen (durable backends)', async (ctx) => {
      const { store, reopen } = open();
      if (!reopen) ctx.skip();
      const j = job();
      await store.insert(j);
      const r = result();
      const ended: StoredJob = { ...j, status: 'succeeded', endedAt: new Date().toISOString(), lastSeq: r.done.seq };
      await store.finish(ended, r);
      const pending = job({ status: 'running', kernels: 'fma' });
      await store.insert(pending);
      await store.close();
      const again = reopen!();
      extra.push(again);
      expect(await again.get(j.id)).toEqual(ended);
      expect(bytes((await again.getResult(j.id))!.series.values)).toEqual(bytes(r.series.values));
      expect(await again.unfinished()).toEqual([pending]);
    });
  });
}
