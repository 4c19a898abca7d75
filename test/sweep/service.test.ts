/** The sweep service over the real embedded runtime (piscina workers, memory or SQLite stores). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { JobSpec } from '../../src/contract/spec.js';
import { type SweepEvent, SweepRequest, type SweepRequestInput } from '../../src/contract/sweep.js';
import { createEmbeddedRuntime, type RuntimeConfig } from '../../src/runtime/index.js';
import { createSweepService, type SweepService } from '../../src/runtime/sweep/service.js';
import type { JobService } from '../../src/runtime/types.js';

const silent = pino({ level: 'silent' });

function runtimeConfig(over: Partial<RuntimeConfig> = {}): RuntimeConfig {
  return {
    dataDir: null,
    workers: 2,
    maxQueue: 5000,
    maxWorkFlops: 1e12,
    maxJobBytes: 1e9,
    jobTtlMs: null,
    maxJobs: null,
    workerMaxOldGenMb: 64,
    logger: silent,
    ...over,
  };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(opts: { dataDir?: string | null; window?: number; maxQueue?: number; ttlMs?: number } = {}) {
  const jobs = await createEmbeddedRuntime(
    runtimeConfig({ dataDir: opts.dataDir ?? null, maxQueue: opts.maxQueue ?? 5000 }),
  );
  const sweeps = await createSweepService({
    jobs,
    dataDir: opts.dataDir ?? null,
    window: opts.window,
    ttlMs: opts.ttlMs ?? null,
  });
  const close = async () => {
    await sweeps.close();
    await jobs.close({ graceMs: 0 });
  };
  cleanups.push(close);
  return { jobs, sweeps, close };
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gl-sweep-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const textbook = (axes: SweepRequestInput['axes'], steps = 20): SweepRequest =>
  SweepRequest.parse({
    name: 'textbook',
    base: {
      seed: 3,
      network: { kind: 'linear', depth: 4, width: 2, init: { scheme: 'scaled-identity', gain: 1 } },
      training: { steps, learningRate: 0.01 },
    },
    axes,
  });

/** Every event from `from` until the subscription ends. */
async function collect(sweeps: SweepService, id: string, from = 0): Promise<SweepEvent[]> {
  const events: SweepEvent[] = [];
  return new Promise((resolve, reject) => {
    sweeps
      .subscribe(id, null, { from, onEvent: (e) => events.push(e), onEnd: () => resolve(events) })
      .then((s) => s ?? reject(new Error(`no sweep ${id}`)), reject);
  });
}

describe('sweep service', () => {
  it('retention: an ended sweep past the TTL goes, grid and cells; a running one stays', async () => {
    const { sweeps } = await setup({ ttlMs: 300 });
    const done = await sweeps.create(textbook([{ path: 'network.init.gain', values: [0.5, 1.5] }]), null);
    await collect(sweeps, done.sweep.id);
    expect(await sweeps.get(done.sweep.id, null)).not.toBeNull();
    const running = await sweeps.create(textbook([{ path: 'network.init.gain', values: [1] }], 1_000_000), null);
    const end = Date.now() + 10_000;
    while ((await sweeps.get(done.sweep.id, null)) !== null && Date.now() < end)
      await new Promise((r) => setTimeout(r, 50));
    expect(await sweeps.get(done.sweep.id, null)).toBeNull();
    expect((await sweeps.list(null, 10)).map((s) => s.id)).toEqual([running.sweep.id]);
    await sweeps.cancel(running.sweep.id, null);
  });

  it('runs every cell, streams one cell event per cell then done, and fills the grid from the real runs', async () => {
    const { sweeps } = await setup();
    const req = textbook([
      { path: 'network.init.gain', values: [0.5, 1, 1.5] },
      { path: 'network.depth', values: [2, 5] },
    ]);
    const view = await sweeps.create(req, null);
    expect(view.sweep).toMatchObject({ status: 'running', shape: [3, 2], seed: 3, progress: { total: 6 } });
    expect(view.sweep.theory).toEqual([expect.objectContaining({ path: 'network.init.gain', value: 1 })]);
    const events = await collect(sweeps, view.sweep.id);
    expect(events.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(events.at(-1)).toMatchObject({ type: 'done', seq: 6, status: 'succeeded', progress: { total: 6, done: 6 } });
    const cellEvents = events.filter((e) => e.type === 'cell');
    expect(new Set(cellEvents.map((e) => e.cell.index))).toEqual(new Set([0, 1, 2, 3, 4, 5]));

    const done = (await sweeps.get(view.sweep.id, null))!;
    expect(done.sweep.status).toBe('succeeded');
    expect(done.sweep.endedAt).not.toBeNull();
    for (const cell of done.cells) {
      const [gain, depth] = cell.coords as [number, number];
      expect(cell.status).toBe('succeeded');
      expect(cell.jobId).toMatch(/^[0-9a-z]{29}$/);
      // backwardGain = gain^(L−1) exactly for W = gain·I (relative 1e-12), and the prediction says so too.
      expect((cell.backwardGain as number) / gain ** (depth - 1)).toBeCloseTo(1, 12);
      expect(cell.predicted.layerGradFactor).toBe(gain ** (depth - 1));
    }
  });

  it('replays exactly from any `from`, live or after the end', async () => {
    const { sweeps } = await setup({ window: 2 });
    const view = await sweeps.create(textbook([{ path: 'seed', values: [1, 2, 3, 4, 5, 6, 7, 8] }]), null);
    const live = collect(sweeps, view.sweep.id, 3);
    const all = await collect(sweeps, view.sweep.id);
    expect(await live).toEqual(all.slice(3));
    for (const from of [0, 5, 8, 9, 100]) expect(await collect(sweeps, view.sweep.id, from)).toEqual(all.slice(from));
  });

  it('cells share the base seed: cells that differ only in an unused axis value give identical summaries', async () => {
    const { sweeps } = await setup();
    // clip-norm with a threshold no gradient reaches changes nothing, so common random numbers make the cells equal.
    const view = await sweeps.create(
      textbook([{ path: 'mitigations', values: [[], [{ kind: 'clip-norm', maxNorm: 1e9 }]] }]),
      null,
    );
    await collect(sweeps, view.sweep.id);
    const [a, b] = (await sweeps.get(view.sweep.id, null))!.cells;
    expect(a.finalLoss).toBe(b.finalLoss);
    expect(a.maxGradNorm).toBe(b.maxGradNorm);
  });

  it('cancel ends the cells not yet done; a second cancel is 409 and unknown sweeps 404', async () => {
    const { sweeps, jobs } = await setup({ window: 2 });
    const view = await sweeps.create(
      textbook([{ path: 'seed', values: Array.from({ length: 20 }, (_, i) => i) }], 1_000_000),
      null,
    );
    const events = collect(sweeps, view.sweep.id);
    const cancelled = await sweeps.cancel(view.sweep.id, null);
    expect(cancelled.progress.byStatus.cancelled).toBeGreaterThanOrEqual(18);
    const all = await events;
    expect(all.at(-1)).toMatchObject({ type: 'done', seq: 20, status: 'cancelled' });
    const final = (await sweeps.get(view.sweep.id, null))!;
    expect(final.cells.every((c) => c.status === 'cancelled')).toBe(true);
    for (const c of final.cells.filter((x) => x.jobId))
      expect((await jobs.get(c.jobId!, null))!.status).toBe('cancelled');
    await expect(sweeps.cancel(view.sweep.id, null)).rejects.toMatchObject({
      code: 'GL_ERR_SWEEP_ENDED',
    });
    await expect(sweeps.cancel('nope', null)).rejects.toMatchObject({
      code: 'GL_ERR_SWEEP_NOT_FOUND',
    });
  });

  it('keeps sweeps apart by owner', async () => {
    const { sweeps } = await setup();
    const view = await sweeps.create(textbook([{ path: 'seed', values: [1] }]), 'alice');
    expect(await sweeps.get(view.sweep.id, 'bob')).toBeNull();
    expect(await sweeps.subscribe(view.sweep.id, 'bob', { from: 0, onEvent() {} })).toBeNull();
    expect((await sweeps.get(view.sweep.id, 'alice'))!.sweep.id).toBe(view.sweep.id);
    expect((await sweeps.list('bob', 10)).length).toBe(0);
    await collect(sweeps, view.sweep.id);
  });

  it('survives a restart: a sweep interrupted mid-way finishes after the next start, each cell event once', async () => {
    const dataDir = tempDir();
    const first = await setup({ dataDir, window: 2 });
    const req = textbook([{ path: 'seed', values: Array.from({ length: 6 }, (_, i) => i) }], 20_000);
    const view = await first.sweeps.create(req, null);
    // Stop once the first cell has ended: the rest are running, queued or not yet submitted.
    await new Promise<void>((resolve) => {
      void first.sweeps.subscribe(view.sweep.id, null, { from: 0, onEvent: () => resolve() });
    });
    await first.close();

    const second = await setup({ dataDir, window: 2 });
    const events = await collect(second.sweeps, view.sweep.id);
    expect(events.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(events.at(-1)).toMatchObject({ type: 'done', status: 'succeeded' });
    const cellIndexes = events.flatMap((e) => (e.type === 'cell' ? [e.cell.index] : []));
    expect(cellIndexes.sort()).toEqual([0, 1, 2, 3, 4, 5]);
    const grid = (await second.sweeps.get(view.sweep.id, null))!;
    expect(grid.cells.every((c) => c.status === 'succeeded' && c.finalLoss !== null)).toBe(true);
  });

  it('offers cells again when the job queue is full, submitting each exactly once', async () => {
    const { sweeps, jobs } = await setup({ window: 12, maxQueue: 2 });
    const view = await sweeps.create(
      textbook([{ path: 'seed', values: Array.from({ length: 30 }, (_, i) => i) }]),
      null,
    );
    const events = await collect(sweeps, view.sweep.id);
    expect(events.at(-1)).toMatchObject({ type: 'done', seq: 30, status: 'succeeded' });
    const page = await jobs.list({ owner: null, sweepId: view.sweep.id, limit: 1000 });
    expect(page.items).toHaveLength(30);
    const grid = (await sweeps.get(view.sweep.id, null))!;
    expect(new Set(grid.cells.map((c) => c.jobId)).size).toBe(30);
    expect(grid.cells.every((c) => c.status === 'succeeded')).toBe(true);
  });

  it('works over a job service without onJobEnd (as another backend may be), learning of ends from each job’s events', async () => {
    const jobs = await createEmbeddedRuntime(runtimeConfig());
    // The same real service seen through the bare JobService interface.
    const narrow: JobService = {
      submit: (spec, owner, options) => jobs.submit(spec, owner, options),
      get: (id, owner) => jobs.get(id, owner),
      list: (q) => jobs.list(q),
      cancel: (id, owner) => jobs.cancel(id, owner),
      result: (id, owner) => jobs.result(id, owner),
      subscribe: (id, owner, o) => jobs.subscribe(id, owner, o),
      stats: () => jobs.stats(),
      ready: () => jobs.ready(),
      close: (o) => jobs.close(o),
    };
    const sweeps = await createSweepService({ jobs: narrow, dataDir: null, window: 3 });
    cleanups.push(async () => {
      await sweeps.close();
      await jobs.close({ graceMs: 0 });
    });
    const view = await sweeps.create(textbook([{ path: 'network.depth', values: [1, 2, 3, 4, 5, 6, 7] }]), null);
    const events = await collect(sweeps, view.sweep.id);
    expect(events.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const grid = (await sweeps.get(view.sweep.id, null))!;
    expect(grid.cells.every((c) => c.status === 'succeeded' && c.backwardGain === 1)).toBe(true);
  });

  it('is fair: a job submitted behind a 2,000-cell sweep starts within a few cells', async () => {
    const { sweeps, jobs } = await setup({ window: 2000 });
    const tiny = SweepRequest.parse({
      base: { network: { kind: 'linear', depth: 2, width: 2 }, training: { steps: 2 } },
      axes: [{ path: 'seed', values: Array.from({ length: 2000 }, (_, i) => i) }],
    });
    const view = await sweeps.create(tiny, null);
    let cellsEnded = 0;
    const sub = await sweeps.subscribe(view.sweep.id, null, {
      from: 0,
      onEvent: (e) => {
        if (e.type === 'cell') cellsEnded++;
      },
    });
    // Wait until every cell is in the job queue, so the single job really is behind all of them.
    await vi.waitFor(async () => expect((await jobs.stats()).queued >= 1500 || cellsEnded > 0).toBe(true), {
      timeout: 30_000,
      interval: 1,
    });
    const single = JobSpec.parse({ network: { kind: 'linear', depth: 2, width: 2 }, training: { steps: 2 } });
    const queuedBefore = jobs.stats().queued;
    const endedAtSubmit = cellsEnded;
    const job = await jobs.submit(single, null);
    const endedAtStart = await new Promise<number>((resolve) => {
      void jobs.subscribe(job.id, null, { from: 0, onEvent: () => resolve(cellsEnded) });
    });
    sub?.close();
    expect(queuedBefore).toBeGreaterThan(1000);
    // Round-robin between the single-job lane and the sweep's lane: at most one cell per worker goes first.
    expect(endedAtStart - endedAtSubmit).toBeLessThanOrEqual(4);
  });
});
