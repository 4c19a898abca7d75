/**
 * Restart recovery on a real SQLite file: a runtime's process is killed mid-job (SIGKILL: its
 * threads die, nothing more is written), a new one on the same directory runs the job again, and
 * the result equals an uninterrupted run; ended jobs come back byte for byte.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobEvent } from '../../src/contract/events.js';
import type { JobSpec } from '../../src/contract/spec.js';
import { collect, Fixture, jsonResult, longSpec, spec, until } from './helpers.js';

const fx = new Fixture();
afterEach(() => fx.cleanup());

describe('restart recovery', () => {
  it('re-runs a job left running by a process killed mid-job; seqs continue without duplicates', async () => {
    const dataDir = fx.tempDir();
    const job = longSpec(20_000);
    const first = await dyingRuntime(dataDir, spec({ name: 'ended before the crash' }), job, (e) => e.seq >= 300);
    const { ended, victim, seen } = first;

    const second = await fx.runtime({ dataDir, workers: 1 });
    expect((await second.get(victim, null))?.status).toMatch(/queued|running/);
    // A client that saw seq 0…k before the crash resumes with from = k + 1.
    const rest = await collect(second, victim, seen.length);
    const stitched = plain([...seen, ...rest]);
    expect(stitched.map((e) => e.seq)).toEqual(stitched.map((_, i) => i));
    expect(stitched.at(-1)).toMatchObject({ type: 'done', status: 'succeeded', seq: 20_000 });

    const reference = await fx.runtime({ workers: 1 });
    const uninterrupted = await reference.submit(job, null);
    expect(stitched).toEqual(plain(await collect(reference, uninterrupted.id)));
    const a = (await jsonResult(second, victim, null))!;
    const b = (await jsonResult(reference, uninterrupted.id, null))!;
    expect(a.series).toEqual(b.series);
    expect(a.summary).toEqual(b.summary);

    expect(JSON.stringify(await jsonResult(second, ended.id, null))).toBe(ended.result);
    expect(plain(await collect(second, ended.id))).toEqual(ended.events);
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

/** Events as they cross a process boundary (JSON), for comparison with those the child printed. */
function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/**
 * Runs test/runtime/fixtures/dying-runtime.ts on `dataDir`: `short` runs to its end, then `long`
 * runs until an event satisfies `killAt`, and the process is killed with SIGKILL. Resolves with
 * what the child reported before it died.
 */
async function dyingRuntime(dataDir: string, short: JobSpec, long: JobSpec, killAt: (e: JobEvent) => boolean) {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/runtime/fixtures/dying-runtime.ts', dataDir, JSON.stringify(short), JSON.stringify(long)],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = once(child, 'exit');
  const got: { ended: { id: string; result: string; events: JobEvent[] } | null; victim: string | null } = {
    ended: null,
    victim: null,
  };
  const seen: JobEvent[] = [];
  try {
    for await (const line of createInterface({ input: child.stdout! })) {
      const msg = JSON.parse(line) as { ended?: typeof got.ended; victim?: string; event?: JobEvent };
      if (msg.ended) got.ended = msg.ended;
      if (msg.victim) got.victim = msg.victim;
      if (msg.event) {
        seen.push(msg.event);
        if (killAt(msg.event)) break;
      }
    }
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  const { ended, victim } = got;
  if (!ended || !victim || seen.length === 0 || !killAt(seen.at(-1)!)) {
    throw new Error('the child runtime died before the awaited event');
  }
  return { ended, victim, seen };
}
