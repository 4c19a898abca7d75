/**
 * Issue 11, defects 4 and 5: storage budgets and a per-key share of the queue. A job is admitted
 * only when its largest possible result fits the key's quota (429 GL_ERR_QUOTA_EXCEEDED) and the
 * global budget (507 GL_ERR_STORAGE_FULL), and nothing is written when it is refused; one key
 * cannot fill the whole queue. A really full disk (a small tmpfs under the store, where this test
 * may mount one) refuses new jobs cleanly with 507, keeps serving reads, and recovers when space
 * returns.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { estimateWork } from '../../src/engine/index.js';
import { createEmbeddedRuntime } from '../../src/runtime/index.js';
import { ROW_OVERHEAD_BYTES } from '../../src/runtime/storage.js';
import { collect, config, Fixture, jsonResult, longSpec, spec } from './helpers.js';

const fx = new Fixture();
afterEach(() => fx.cleanup());

function refusal(p: Promise<unknown>): Promise<{ code: string; statusCode: number; message: string }> {
  return p.then(
    () => {
      throw new Error('expected a refusal');
    },
    (err) => err,
  );
}

// 2,000 recorded steps of a depth-4 linear net: ~0.3 MB of series at most.
const job = () => spec({ training: { steps: 2000, learningRate: 0.01 } });
const jobBytes = () => estimateWork(job()).seriesBytes + ROW_OVERHEAD_BYTES;

describe('storage budgets', () => {
  it('refuses a job over the key quota with 429, another key still gets in, and nothing is written', async () => {
    const rt = await fx.runtime({
      dataDir: fx.tempDir(),
      storage: { maxBytes: null, keyQuotaBytes: 3 * jobBytes() + 5000 },
    });
    for (let i = 0; i < 3; i++) await collect(rt, (await rt.submit(job(), 'alice')).id);
    const before = await rt.list({ owner: 'alice', limit: 100 });
    const e = await refusal(rt.submit(job(), 'alice'));
    expect(e).toMatchObject({ code: 'GL_ERR_QUOTA_EXCEEDED' });
    expect(e.message).toMatch(/the quota per key is \d+(\.\d)? (KiB|MiB)/);
    expect((await rt.list({ owner: 'alice', limit: 100 })).items).toHaveLength(before.items.length);
    // Bob's quota is his own.
    const bob = await rt.submit(job(), 'bob');
    await collect(rt, bob.id);
    // A smaller job that fits what Alice has left is still admitted: the quota counts bytes, not jobs.
    const tiny = spec({ training: { steps: 10, learningRate: 0.01 } });
    await collect(rt, (await rt.submit(tiny, 'alice')).id);
  }, 120_000);

  it('refuses a job over the global budget with 507; the budget counts queued and running jobs too', async () => {
    const rt = await fx.runtime({
      dataDir: fx.tempDir(),
      workers: 1,
      storage: { maxBytes: 2 * jobBytes() + 1000, keyQuotaBytes: null },
    });
    const a = await rt.submit(job(), 'alice');
    const b = await rt.submit(job(), 'bob');
    // Neither has ended yet, or just: their reservations (or results) fill the budget either way.
    const e = await refusal(rt.submit(job(), 'carol'));
    expect(e).toMatchObject({ code: 'GL_ERR_STORAGE_FULL' });
    await collect(rt, a.id);
    await collect(rt, b.id);
    expect((await rt.list({ owner: null, limit: 100 })).items).toHaveLength(2);
  }, 120_000);

  it('counts what an earlier process stored', async () => {
    const dir = fx.tempDir();
    const first = await fx.runtime({ dataDir: dir, storage: { maxBytes: null, keyQuotaBytes: 2 * jobBytes() } });
    for (let i = 0; i < 2; i++) await collect(first, (await first.submit(job(), 'alice')).id);
    await first.close();
    const second = await fx.runtime({ dataDir: dir, storage: { maxBytes: null, keyQuotaBytes: 2 * jobBytes() } });
    expect(await refusal(second.submit(job(), 'alice'))).toMatchObject({ code: 'GL_ERR_QUOTA_EXCEEDED' });
  }, 120_000);

  it('frees the space of ended jobs that retention deletes', async () => {
    const rt = await fx.runtime({
      dataDir: fx.tempDir(),
      maxJobs: 2,
      storage: { maxBytes: null, keyQuotaBytes: 3 * jobBytes() },
    });
    // With at most two jobs kept, a key with room for three never runs out.
    for (let i = 0; i < 6; i++) await collect(rt, (await rt.submit(job(), 'alice')).id);
    expect((await rt.list({ owner: 'alice', limit: 100 })).items.length).toBeLessThanOrEqual(2);
  }, 120_000);
});

describe('per-key share of the queue', () => {
  it("one key's queued jobs cannot fill the queue for every other key", async () => {
    const rt = await fx.runtime({ workers: 1, maxQueue: 8 });
    const blocker = await rt.submit(longSpec(), 'alice');
    const queued = [];
    // ¾ of MAX_QUEUE = 6 queued jobs for Alice, then QUEUE_FULL for her alone.
    for (let i = 0; i < 6; i++) queued.push(await rt.submit(longSpec(), 'alice'));
    expect(await refusal(rt.submit(spec(), 'alice'))).toMatchObject({ code: 'GL_ERR_QUEUE_FULL' });
    const bob = await rt.submit(spec(), 'bob');
    expect(bob.status).toBe('queued');
    for (const j of [blocker, ...queued]) await rt.cancel(j.id, 'alice');
    await collect(rt, bob.id);
  }, 120_000);
});

/** Mounts a tmpfs of `size` at `dir`; false when this process may not mount. */
function mountTmpfs(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

const probe = mkdtempSync(join(tmpdir(), 'gl-mount-probe-'));
const canMount = mountTmpfs(probe, '1m');
if (canMount) execFileSync('umount', [probe], { stdio: 'pipe' });
rmdirSync(probe);

describe('a full disk', () => {
  it.skipIf(!canMount)(
    'refuses new jobs cleanly with 507, keeps serving reads, and recovers when space returns (a 3 MB tmpfs; skipped where mount is not permitted)',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'gl-small-disk-'));
      expect(mountTmpfs(dir, '3m')).toBe(true);
      try {
        const rt = await createEmbeddedRuntime(
          config({ dataDir: dir, workers: 1, storage: { maxBytes: null, keyQuotaBytes: null } }),
        );
        try {
          const done: string[] = [];
          let refused: { code: string; statusCode: number } | null = null;
          for (let i = 0; i < 40 && refused === null; i++) {
            try {
              const j = await rt.submit(job(), null);
              await collect(rt, j.id);
              done.push(j.id);
            } catch (err) {
              refused = err as { code: string; statusCode: number };
            }
          }
          expect(refused).toMatchObject({ code: 'GL_ERR_STORAGE_FULL' });
          expect(done.length).toBeGreaterThan(0);
          // Reads keep working: the first job's result reads back whole.
          const first = await jsonResult(rt, done[0]);
          expect(first?.series.steps).toHaveLength(2000);
          // Space returns: the next job is admitted, runs and is stored.
          execFileSync('mount', ['-o', 'remount,size=64m', dir], { stdio: 'pipe' });
          const after = await rt.submit(job(), null);
          await collect(rt, after.id);
          const stored = await jsonResult(rt, after.id);
          expect(stored?.job.status).toBe('succeeded');
          expect(stored?.series.steps).toHaveLength(2000);
        } finally {
          await rt.close();
        }
      } finally {
        execFileSync('umount', [dir], { stdio: 'pipe' });
        rmdirSync(dir);
      }
    },
    180_000,
  );
});
