/**
 * The embedded runtime end to end: a real piscina pool running the real engine, real stores.
 * Specs are tiny so the file stays fast; nothing sleeps for a fixed time — every wait awaits an event.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { JobEvent, StepEvent } from '../../src/contract/events.js';
import type { JobRecord } from '../../src/runtime/index.js';
import { collect, deferred, Fixture, jsonResult, longSpec, spec, until } from './helpers.js';

const fx = new Fixture();
afterEach(() => fx.cleanup());

function seqs(events: JobEvent[]): number[] {
  return events.map((e) => e.seq);
}

describe('job lifecycle and events', () => {
  it('streams every step in order, then done, and stores the same series', async () => {
    const rt = await fx.runtime();
    const job = await rt.submit(spec({ name: 'lifecycle' }), null);
    expect(job).toMatchObject({ status: 'queued', name: 'lifecycle', lastSeq: -1, progress: { steps: 40 } });
    const events = await collect(rt, job.id);
    expect(seqs(events)).toEqual(events.map((_, i) => i));
    const steps = events.filter((e): e is StepEvent => e.type === 'step');
    expect(steps.map((e) => e.step)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(steps[0].layers).toHaveLength(4);
    const done = events.at(-1)!;
    expect(done).toMatchObject({ type: 'done', seq: 40, status: 'succeeded' });
    expect(done.type === 'done' && done.summary?.stepsRun).toBe(40);

    const record = (await rt.get(job.id, null))!;
    expect(record).toMatchObject({ status: 'succeeded', lastSeq: 40, progress: { step: 40, steps: 40 } });
    expect(record.startedAt! >= record.createdAt && record.endedAt! >= record.startedAt!).toBe(true);
    const result = (await jsonResult(rt, job.id, null))!;
    expect(result.series.steps).toEqual(steps.map((e) => e.step));
    expect(result.series.loss).toEqual(steps.map((e) => e.loss));
    expect(result.series.layers[3].gradNorm).toEqual(steps.map((e) => e.layers[3].gradNorm));
    expect(result.summary).toEqual(done.type === 'done' ? done.summary : null);
  });

  it('replays everything to a late subscriber and exactly the rest from k', async () => {
    const rt = await fx.runtime();
    const job = await rt.submit(spec(), null);
    const live = await collect(rt, job.id);
    expect(await collect(rt, job.id)).toEqual(live);
    for (const k of [0, 1, 17, 40]) expect(await collect(rt, job.id, k)).toEqual(live.slice(k));
    expect(await collect(rt, job.id, 1000)).toEqual([]);
  });

  it('gives many subscribers of a running job the same events, each once, whenever they join', async () => {
    const rt = await fx.runtime({ workers: 1 });
    const job = await rt.submit(longSpec(3000), null);
    const first = collect(rt, job.id);
    await until(rt, job.id, (e) => e.seq >= 200);
    const joinedLate = collect(rt, job.id);
    const resumed = collect(rt, job.id, 150);
    const all = await first;
    expect(all.at(-1)).toMatchObject({ type: 'done', seq: 3000 });
    expect(seqs(all)).toEqual(all.map((_, i) => i));
    expect(await joinedLate).toEqual(all);
    expect(await resumed).toEqual(all.slice(150));
  });

  it('gives the partial series of a running job as its result', async () => {
    const rt = await fx.runtime({ workers: 1 });
    const job = await rt.submit(longSpec(), null);
    await until(rt, job.id, (e) => e.seq >= 100);
    const partial = (await jsonResult(rt, job.id, null))!;
    expect(partial.job.status).toBe('running');
    expect(partial.summary).toBeNull();
    const n = partial.series.steps.length;
    expect(n).toBeGreaterThanOrEqual(101);
    expect(partial.series.steps).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(partial.job.progress.step).toBeGreaterThanOrEqual(n);
    await rt.cancel(job.id, null);
  });

  it('puts the nonfinite event right after the step event of its step', async () => {
    const rt = await fx.runtime();
    // Gain 3 over 8 layers with a large learning rate overflows within a few steps.
    const job = await rt.submit(
      spec({
        network: { kind: 'linear', depth: 8, width: 2, init: { scheme: 'scaled-identity', gain: 3 } },
        training: { steps: 200, learningRate: 1 },
      }),
      null,
    );
    const events = await collect(rt, job.id);
    const i = events.findIndex((e) => e.type === 'nonfinite');
    expect(i).toBeGreaterThan(0);
    const nf = events[i];
    const before = events[i - 1];
    expect(before.type).toBe('step');
    expect(nf.type === 'nonfinite' && before.type === 'step' && nf.step === before.step).toBe(true);
    expect(seqs(events)).toEqual(events.map((_, k) => k));
    const done = events.at(-1)!;
    expect(done.type === 'done' && done.status).toBe('succeeded');
    expect(done.type === 'done' && done.summary?.firstNonFiniteStep).toBe(nf.type === 'nonfinite' && nf.step);
    // Replay rebuilds the same stream from the stored columns and mark.
    expect(await collect(rt, job.id, i - 1)).toEqual(events.slice(i - 1));
  });
});

describe('cancellation', () => {
  it('cancels a queued job without running it', async () => {
    const rt = await fx.runtime({ workers: 1 });
    const running = await rt.submit(longSpec(), null);
    const queued = await rt.submit(spec(), null);
    const cancelled = await rt.cancel(queued.id, null);
    expect(cancelled).toMatchObject({ status: 'cancelled', lastSeq: 0, summary: null });
    expect(await collect(rt, queued.id)).toEqual([{ type: 'done', seq: 0, status: 'cancelled', summary: null }]);
    await expect(rt.cancel(queued.id, null)).rejects.toMatchObject({ code: 'GL_ERR_JOB_ENDED' });
    await rt.cancel(running.id, null);
  });

  it('stops a running job between steps: cancelled, summary stopped, the steps it made kept', async () => {
    const rt = await fx.runtime({ workers: 1 });
    const job = await rt.submit(longSpec(), null);
    await until(rt, job.id, (e) => e.type === 'step');
    const doneSeen = until(rt, job.id, (e) => e.type === 'done', (await rt.get(job.id, null))!.lastSeq + 1);
    const record = await rt.cancel(job.id, null);
    const { event } = await doneSeen;
    // The summary comes from the engine, which saw the stop flag between two steps (a killed thread sends none).
    expect(record.status).toBe('cancelled');
    expect(event).toMatchObject({ type: 'done', status: 'cancelled' });
    expect(event.type === 'done' && event.summary?.stopped).toBe(true);
    expect(record.progress.step).toBeLessThan(1_000_000);
    const result = (await jsonResult(rt, job.id, null))!;
    expect(result.series.steps.length).toBe(event.seq);
    await expect(rt.cancel('nope', null)).rejects.toMatchObject({ code: 'GL_ERR_JOB_NOT_FOUND' });
  });
});

describe('isolation and limits', () => {
  it('kills the thread of a job that does not stop between steps, after the grace', async () => {
    const rt = await fx.runtime({
      workers: 1,
      cancelGraceMs: 50,
      workerFile: new URL('./fixtures/faulty-worker.ts', import.meta.url),
    });
    const stuck = await rt.submit(spec({ name: 'hang' }), null);
    const next = await rt.submit(spec(), null);
    const t0 = performance.now();
    const record = await rt.cancel(stuck.id, null);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(49);
    expect(record).toMatchObject({ status: 'cancelled', summary: null });
    expect(await collect(rt, stuck.id)).toEqual([{ type: 'done', seq: 0, status: 'cancelled', summary: null }]);
    expect((await collect(rt, next.id)).at(-1)).toMatchObject({ status: 'succeeded' });
  });

  it('fails only the job whose worker throws or runs out of memory; the pool recovers', async () => {
    const rt = await fx.runtime({
      workers: 2,
      workerMaxOldGenMb: 32,
      workerFile: new URL('./fixtures/faulty-worker.ts', import.meta.url),
    });
    const ok1 = await rt.submit(spec({ name: 'ok1' }), null);
    const boom = await rt.submit(spec({ name: 'throw' }), null);
    const oom = await rt.submit(spec({ name: 'oom' }), null);
    const ok2 = await rt.submit(spec({ name: 'ok2', training: { steps: 400 } }), null);
    const ends = await Promise.all([ok1, boom, oom, ok2].map((j) => collect(rt, j.id).then((e) => e.at(-1))));
    expect(ends[0]).toMatchObject({ status: 'succeeded' });
    expect(ends[1]).toMatchObject({ status: 'failed', summary: null, error: expect.stringContaining('boom') });
    expect(ends[2]).toMatchObject({ status: 'failed', error: expect.stringMatching(/out of memory/i) });
    expect(ends[3]).toMatchObject({ status: 'succeeded' });
    expect(await rt.get(oom.id, null)).toMatchObject({ status: 'failed', error: expect.stringMatching(/memory/) });
    const after = await rt.submit(spec(), null);
    expect((await collect(rt, after.id)).at(-1)).toMatchObject({ status: 'succeeded' });
    expect(await rt.ready()).toBe(true);
    expect(rt.stats().byStatus).toMatchObject({ succeeded: 3, failed: 2 });
  });

  it('refuses jobs past the queue limit with QUEUE_FULL', async () => {
    const rt = await fx.runtime({ workers: 1, maxQueue: 2 });
    const running = await rt.submit(longSpec(), null);
    await rt.submit(spec(), null);
    await rt.submit(spec(), null);
    expect(rt.stats()).toMatchObject({ queued: 2, running: 1 });
    await expect(rt.submit(spec(), null)).rejects.toMatchObject({ code: 'GL_ERR_QUEUE_FULL' });
    await rt.cancel(running.id, null);
  });

  it('refuses impossible specs and specs over the work budget, naming the field and the limit', async () => {
    const rt = await fx.runtime({ maxWorkFlops: 1e6 });
    const impossible = spec({
      network: {
        kind: 'linear',
        depth: 2,
        width: 2,
        init: { scheme: 'explicit', weights: [[[1, 0]], [[1], [2], [3]]] },
      },
    });
    const err = await rt.submit(impossible, null).catch((e) => e);
    expect(err).toMatchObject({ code: 'GL_ERR_SPEC_IMPOSSIBLE' });
    expect(err.errors.length).toBeGreaterThan(0);
    expect(err.errors[0].path).toMatch(/^network\.init\.weights/);

    const big = await rt.submit(longSpec(1_000_000), null).catch((e) => e);
    expect(big).toMatchObject({ code: 'GL_ERR_OVER_BUDGET' });
    expect(big.message).toMatch(/maxWorkFlops = 1\.000e\+6/);
    expect(big.errors[0].path).toBe('training.steps');

    const tight = await fx.runtime({ maxJobBytes: 10_000 });
    const heavy = await tight.submit(spec({ training: { steps: 5000 } }), null).catch((e) => e);
    expect(heavy).toMatchObject({ code: 'GL_ERR_OVER_BUDGET' });
    expect(heavy.message).toMatch(/maxJobBytes = 1\.000e\+4/);
    expect(rt.stats().byStatus.queued).toBe(0);
  });

  it('starts a single job submitted behind a 2,000-cell sweep within a few cells', async () => {
    const rt = await fx.runtime({ workers: 1, maxQueue: 5000 });
    const cellsEnded: string[] = [];
    let single: JobRecord | null = null;
    const singleEnded = deferred<number>();
    rt.onJobEnd((job) => {
      if (job.sweepId === 'sweep-1') cellsEnded.push(job.id);
      else if (job.id === single?.id) singleEnded.resolve(cellsEnded.length);
    });
    const cell = spec({ training: { steps: 5 } });
    for (let i = 0; i < 2000; i++) await rt.submit(cell, null, { sweepId: 'sweep-1' });
    single = await rt.submit(spec({ training: { steps: 5 } }), null);
    const cellsBefore = await singleEnded.promise;
    // The cell running at submission, plus at most one more dispatched in turn before it.
    expect(cellsBefore).toBeLessThanOrEqual(3);
    expect(rt.stats().queued).toBeGreaterThan(1900);
    const page = await rt.list({ owner: null, sweepId: 'sweep-1', limit: 5 });
    expect(page.items.every((j) => j.sweepId === 'sweep-1')).toBe(true);
  });
});

describe('records, owners and listing', () => {
  it('hides jobs from other owners and pages newest first by cursor', async () => {
    const rt = await fx.runtime({ workers: 1 });
    const mine: JobRecord[] = [];
    for (let i = 0; i < 5; i++) mine.push(await rt.submit(spec({ training: { steps: 3 } }), 'alice'));
    const theirs = await rt.submit(spec(), 'bob');
    expect(await rt.get(theirs.id, 'alice')).toBeNull();
    expect(await rt.get(theirs.id, null)).not.toBeNull();
    expect(await rt.subscribe(theirs.id, 'alice', { from: 0, onEvent() {} })).toBeNull();
    expect(await jsonResult(rt, theirs.id, 'alice')).toBeNull();
    await expect(rt.cancel(theirs.id, 'alice')).rejects.toMatchObject({ code: 'GL_ERR_JOB_NOT_FOUND' });

    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await rt.list({ owner: 'alice', limit: 2, cursor });
      ids.push(...page.items.map((j) => j.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(ids).toEqual(mine.map((j) => j.id).reverse());
    await collect(rt, theirs.id);
  });

  it('keeps only the newest ended jobs under maxJobs', async () => {
    const rt = await fx.runtime({ workers: 1, maxJobs: 2 });
    const jobs: JobRecord[] = [];
    for (let i = 0; i < 4; i++) {
      const job = await rt.submit(spec({ training: { steps: 3 } }), null);
      await collect(rt, job.id);
      jobs.push(job);
    }
    await rt.submit(spec({ training: { steps: 3 } }), null).then((j) => collect(rt, j.id));
    const left = (await rt.list({ owner: null, limit: 10 })).items.map((j) => j.id);
    expect(left).toHaveLength(2);
    expect(await rt.get(jobs[0].id, null)).toBeNull();
    expect(await jsonResult(rt, jobs[0].id, null)).toBeNull();
    expect(rt.stats().byStatus.succeeded).toBe(2);
  });
});
