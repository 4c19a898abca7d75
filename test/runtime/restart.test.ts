/**
 * Restart recovery on a real SQLite file: a runtime dies mid-job (its threads killed, nothing more
 * written), a new one on the same directory runs the job again, and the result equals an
 * uninterrupted run; ended jobs come back byte for byte.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { collect, Fixture, longSpec, spec, until } from './helpers.js';

const fx = new Fixture();
afterEach(() => fx.cleanup());

describe('restart recovery', () => {
  it('re-runs a job left running by a dead process; seqs continue without duplicates', async () => {
    const dataDir = fx.tempDir();
    const job = longSpec(20_000);
    const first = await fx.runtime({ dataDir, workers: 1 });
    const ended = await first.submit(spec({ name: 'ended before the crash' }), null);
    await collect(first, ended.id);
    const endedResult = await first.result(ended.id, null);
    const endedEvents = await collect(first, ended.id);

    const victim = await first.submit(job, null);
    const { seen } = await until(first, victim.id, (e) => e.seq >= 300);
    await first.abandon();

    const second = await fx.runtime({ dataDir, workers: 1 });
    expect((await second.get(victim.id, null))?.status).toMatch(/queued|running/);
    // A client that saw seq 0…k before the crash resumes with from = k + 1.
    const rest = await collect(second, victim.id, seen.length);
    const stitched = [...seen, ...rest];
    expect(stitched.map((e) => e.seq)).toEqual(stitched.map((_, i) => i));
    expect(stitched.at(-1)).toMatchObject({ type: 'done', status: 'succeeded', seq: 20_000 });

    const reference = await fx.runtime({ workers: 1 });
    const uninterrupted = await reference.submit(job, null);
    expect(stitched).toEqual(await collect(reference, uninterrupted.id));
    const a = (await second.result(victim.id, null))!;
    const b = (await reference.result(uninterrupted.id, null))!;
    expect(a.series).toEqual(b.series);
    expect(a.summary).toEqual(b.summary);

    expect(JSON.stringify(await second.result(ended.id, null))).toBe(JSON.stringify(endedResult));
    expect(await collect(second, ended.id)).toEqual(endedEvents);
  });

  it('close() without grace leaves a running job queued for the next start', async () => {
    const dataDir = fx.tempDir();
    const first = await fx.runtime({ dataDir, workers: 1 });
    const job = await first.submit(longSpec(5_000), null);
    await until(first, job.id, (e) => e.seq >= 10);
    await first.close({ graceMs: 0 });
    expect(await first.ready()).toBe(false);

    const second = await fx.runtime({ dataDir, workers: 1 });
    const events = await collect(second, job.id);
    expect(events.at(-1)).toMatchObject({ type: 'done', status: 'succeeded', seq: 5_000 });
    expect(await second.get(job.id, null)).toMatchObject({ status: 'succeeded', progress: { step: 5_000 } });
  });

  it('close() lets a running job finish within the grace period and refuses new ones', async () => {
    const dataDir = fx.tempDir();
    const rt = await fx.runtime({ dataDir, workers: 1 });
    const job = await rt.submit(spec({ training: { steps: 500 } }), null);
    const closing = rt.close({ graceMs: 30_000 });
    await expect(rt.submit(spec(), null)).rejects.toMatchObject({ code: 'GL_ERR_DRAINING' });
    await closing;
    const again = await fx.runtime({ dataDir, workers: 1 });
    expect(await again.get(job.id, null)).toMatchObject({ status: 'succeeded' });
  });
});
