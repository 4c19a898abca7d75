/**
 * Small jobs share a worker task (service.ts: SMALL_JOB_FLOPS, TASK_FLOPS). Each job of a task
 * must still behave exactly as if it ran alone: its own events, result and end state; a crash, a
 * cancel or a shutdown touches only the job it is about, and unstarted jobs go back to the queue.
 * A long job holds the only worker while the small ones queue, so the next task takes them all.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { JobSpec } from '../../src/contract/spec.js';
import { simulate } from '../../src/engine/index.js';
import type { EmbeddedJobService } from '../../src/runtime/index.js';
import { collect, Fixture, longSpec, spec, until } from './helpers.js';

const fx = new Fixture();
afterEach(() => fx.cleanup());

const faulty = new URL('./fixtures/faulty-worker.ts', import.meta.url);

/** Submits `specs` behind a long job on the single worker, then cancels it: one task takes them all. */
async function queuedBehindBlocker(rt: EmbeddedJobService, specs: JobSpec[]) {
  const blocker = await rt.submit(longSpec(), null);
  await until(rt, blocker.id, (e) => e.seq >= 1);
  const jobs = [];
  for (const s of specs) jobs.push(await rt.submit(s, null));
  expect(rt.stats()).toMatchObject({ queued: specs.length, running: 1 });
  const tasksBefore = rt.stats().tasksStarted;
  await rt.cancel(blocker.id, null);
  return { jobs, tasksBefore };
}

describe('small jobs sharing a worker task', () => {
  it('runs queued small jobs in one task, each with the events and result it has alone', async () => {
    const rt = await fx.runtime({ workers: 1 });
    const specs = [1, 2, 3, 4, 5].map((seed) => spec({ seed, name: `small ${seed}`, training: { steps: 30 + seed } }));
    const { jobs, tasksBefore } = await queuedBehindBlocker(rt, specs);
    const ends = await Promise.all(jobs.map((j) => collect(rt, j.id)));
    expect(rt.stats().tasksStarted - tasksBefore).toBe(1);
    ends.forEach((events, i) => {
      const alone = simulate(specs[i]);
      const done = events.at(-1)!;
      expect(done).toMatchObject({ type: 'done', status: 'succeeded', seq: alone.series.length });
      expect(done.type === 'done' && done.summary).toEqual(alone.summary);
      const losses = events.flatMap((e) => (e.type === 'step' ? [e.loss] : []));
      expect(losses).toEqual(Array.from(alone.series.loss));
    });
    for (const j of jobs) expect(await rt.get(j.id, null)).toMatchObject({ status: 'succeeded' });
  });

  it('fails only the job whose worker dies mid-task; the jobs after it run again and succeed', async () => {
    const rt = await fx.runtime({ workers: 1, workerMaxOldGenMb: 32, workerFile: faulty });
    const names = ['before', 'oom', 'after1', 'after2'];
    const { jobs, tasksBefore } = await queuedBehindBlocker(
      rt,
      names.map((name) => spec({ name })),
    );
    const ends = await Promise.all(jobs.map((j) => collect(rt, j.id).then((e) => e.at(-1))));
    expect(ends.map((e) => e?.type === 'done' && e.status)).toEqual(['succeeded', 'failed', 'succeeded', 'succeeded']);
    expect(ends[1]).toMatchObject({ error: expect.stringMatching(/out of memory/i) });
    // The task that died, then one more for the two jobs it never started.
    expect(rt.stats().tasksStarted - tasksBefore).toBe(2);
    expect(rt.stats().byStatus).toMatchObject({ succeeded: 3, failed: 1, cancelled: 1 });
    expect(await rt.ready()).toBe(true);
  });

  it('fails a job that throws and goes on with the rest of the task on the same thread', async () => {
    const rt = await fx.runtime({ workers: 1, workerFile: faulty });
    const { jobs, tasksBefore } = await queuedBehindBlocker(rt, [spec(), spec({ name: 'throw' }), spec()]);
    const ends = await Promise.all(jobs.map((j) => collect(rt, j.id).then((e) => e.at(-1))));
    expect(ends.map((e) => e?.type === 'done' && e.status)).toEqual(['succeeded', 'failed', 'succeeded']);
    expect(ends[1]).toMatchObject({ error: expect.stringContaining('boom') });
    expect(rt.stats().tasksStarted - tasksBefore).toBe(1);
  });

  it('cancels a job still waiting in a task without running it; the others are untouched', async () => {
    const rt = await fx.runtime({ workers: 1 });
    const { jobs } = await queuedBehindBlocker(rt, [longSpec(30_000), spec(), spec({ seed: 9 })]);
    const [first, waiting, last] = jobs;
    await until(rt, first.id, (e) => e.seq >= 1);
    const record = await rt.cancel(waiting.id, null);
    expect(record).toMatchObject({ status: 'cancelled', summary: null, startedAt: null });
    expect(await collect(rt, waiting.id)).toEqual([{ type: 'done', seq: 0, status: 'cancelled', summary: null }]);
    expect((await collect(rt, first.id)).at(-1)).toMatchObject({ status: 'succeeded', seq: 30_000 });
    expect((await collect(rt, last.id)).at(-1)).toMatchObject({ status: 'succeeded' });
  });

  it('withdraws a waiting job at once, even behind a job whose step never ends; that one loses its thread', async () => {
    const rt = await fx.runtime({ workers: 1, cancelGraceMs: 50, workerFile: faulty });
    const { jobs } = await queuedBehindBlocker(rt, [spec({ name: 'hang' }), spec(), spec({ seed: 4 })]);
    const [stuck, waiting, last] = jobs;
    await vi.waitFor(() => expect(rt.stats().running).toBe(1));
    // The worker never reaches `waiting`: the cancel must not wait for it.
    expect(await rt.cancel(waiting.id, null)).toMatchObject({ status: 'cancelled', startedAt: null });
    expect(await collect(rt, waiting.id)).toEqual([{ type: 'done', seq: 0, status: 'cancelled', summary: null }]);
    expect(await rt.cancel(stuck.id, null)).toMatchObject({ status: 'cancelled' });
    // The task died with its thread; `last` had not started and runs in the next one.
    expect((await collect(rt, last.id)).at(-1)).toMatchObject({ status: 'succeeded' });
  });

  it('on close, lets the started job of a task finish and leaves its unstarted jobs queued for the next start', async () => {
    const dataDir = fx.tempDir();
    const rt = await fx.runtime({ dataDir, workers: 1 });
    const { jobs } = await queuedBehindBlocker(rt, [longSpec(20_000), spec(), spec({ seed: 3 })]);
    await until(rt, jobs[0].id, (e) => e.seq >= 1);
    await rt.close({ graceMs: 30_000 });
    const again = await fx.runtime({ dataDir, workers: 1 });
    expect(await again.get(jobs[0].id, null)).toMatchObject({ status: 'succeeded', progress: { step: 20_000 } });
    // Never started before the close: still queued in the store, run by the next process.
    for (const j of jobs.slice(1)) expect((await collect(again, j.id)).at(-1)).toMatchObject({ status: 'succeeded' });
  });
});
