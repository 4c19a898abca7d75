/**
 * SQLite-only behaviour (the shared contract is in store-conformance.test.ts): checkpoints happen on
 * the store's own thread, not on the connection that writes, and closing is idempotent.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, expect, it, vi } from 'vitest';
import { JobSpec } from '../../src/contract/spec.js';
import { newId } from '../../src/runtime/ids.js';
import { DB_FILE, SqliteJobStore } from '../../src/runtime/store/sqlite.js';
import type { StoredJob, StoredResult } from '../../src/runtime/store/types.js';

const spec = JobSpec.parse({ network: { kind: 'linear', depth: 3 }, training: { steps: 5 } });
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function ended(): { job: StoredJob; result: StoredResult } {
  const records = 1000;
  const columns = 35; // W1: 5 scalars + 3 × 10 layers
  const values = new Float64Array(records * columns).map((_, i) => Math.sin(i));
  const job: StoredJob = {
    id: newId(),
    name: null,
    status: 'succeeded',
    owner: null,
    sweepId: null,
    spec,
    createdAt: new Date().toISOString(),
    startedAt: null,
    endedAt: new Date().toISOString(),
    step: records,
    summary: null,
    error: null,
    lastSeq: records,
    kernels: 'exact',
  };
  const result: StoredResult = {
    series: {
      shape: { layerNames: [], layerCount: 10, hiddenLength: 0 },
      length: records,
      steps: new Uint8Array(new Int32Array(records).map((_, i) => i + 1).buffer),
      values: new Uint8Array(values.buffer),
      hidden: new Uint8Array(0),
    },
    nonFinite: null,
    done: { type: 'done', seq: records, status: 'succeeded', summary: null },
  };
  return { job, result };
}

it('copies the WAL into the database file on its own thread, with 16 KB pages', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gl-sqlite-'));
  dirs.push(dir);
  const store = new SqliteJobStore(dir);
  try {
    // 20 series of 280 KB: 5.6 MB, far below the writing connection's own checkpoint threshold
    // (256 MiB), so only the checkpoint thread can move them into jobs.db while the store is open.
    for (let i = 0; i < 20; i++) {
      const { job, result } = ended();
      await store.insert({ ...job, status: 'queued', endedAt: null });
      await store.finish(job, result);
    }
    await vi.waitFor(() => expect(statSync(join(dir, DB_FILE)).size).toBeGreaterThan(5_000_000), {
      timeout: 10_000,
      interval: 20,
    });
    const db = new Database(join(dir, DB_FILE), { readonly: true });
    expect(db.pragma('page_size', { simple: true })).toBe(16_384);
    db.close();
  } finally {
    await store.close();
  }
});

it('closes once however often close is called, with writes issued just before committed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gl-sqlite-'));
  dirs.push(dir);
  const store = new SqliteJobStore(dir);
  const { job } = ended();
  const written = store.insert({ ...job, status: 'queued', endedAt: null });
  await Promise.all([store.close(), store.close()]);
  await written;
  await expect(store.insert({ ...job, id: newId() })).rejects.toThrow(/closed/);
  const again = new SqliteJobStore(dir);
  expect((await again.get(job.id))?.id).toBe(job.id);
  await again.close();
});

it('migrates a database from before the kernels column: its jobs read back as exact', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gl-sqlite-'));
  dirs.push(dir);
  const store = new SqliteJobStore(dir);
  const { job } = ended();
  await store.insert({ ...job, status: 'queued', endedAt: null, kernels: 'fma' });
  await store.close();
  // Back to schema version 2, the layout every job had before kernels were recorded.
  const db = new Database(join(dir, DB_FILE));
  db.exec('ALTER TABLE jobs DROP COLUMN kernels');
  db.pragma('user_version = 2');
  db.close();
  const again = new SqliteJobStore(dir);
  expect(await again.get(job.id)).toMatchObject({ id: job.id, status: 'queued', kernels: 'exact' });
  await again.close();
  expect(new Database(join(dir, DB_FILE), { readonly: true }).pragma('user_version', { simple: true })).toBe(3);
});

it('drops a start still waiting to commit when the job ends first; the end row carries it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gl-sqlite-'));
  dirs.push(dir);
  const store = new SqliteJobStore(dir);
  try {
    // The statement itself is watched: dropping the write is the point (one UPDATE less per short job).
    const setRunning = vi.spyOn(
      (store as unknown as { stmt: { setRunning: { run(p: unknown): unknown } } }).stmt.setRunning,
      'run',
    );
    const { job, result } = ended();
    await store.insert({ ...job, status: 'queued', endedAt: null });
    const startedAt = new Date().toISOString();
    // Same turn of the event loop: one group commit, in which the start must not undo the end.
    const start = store.setRunning(job.id, startedAt);
    const end = store.finish({ ...job, startedAt }, result);
    await Promise.all([start, end]);
    expect(await store.get(job.id)).toMatchObject({ status: 'succeeded', startedAt, endedAt: job.endedAt });
    expect(setRunning).not.toHaveBeenCalled();
    // Committed apart, a start is written as before.
    const other = ended().job;
    await store.insert({ ...other, status: 'queued', endedAt: null });
    await store.setRunning(other.id, startedAt);
    expect(await store.get(other.id)).toMatchObject({ status: 'running', startedAt });
    expect(setRunning).toHaveBeenCalledTimes(1);
  } finally {
    await store.close();
  }
});
