/**
 * Restart without loss, at process level (issue 4): the real server entry is killed with SIGKILL
 * in the middle of a long job and started again on the same data directory. The job must finish
 * with exactly the series of an uninterrupted run (the engine run in this process is the
 * reference: runs are deterministic, docs/design.md), a client reconnecting with `from` must see every
 * event once and in order, and a job that had ended must read back byte for byte.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { bytes, getJob, json, readEvents, type ServerProcess, startServer, submit, WAIT } from './process.js';
import { reference } from './reference.js';
import { LONG_SPEC, SHORT_SPEC } from './specs.js';

let dataDir: string;
const servers: ServerProcess[] = [];

beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'gl-restart-'));
});
afterAll(() => {
  for (const s of servers) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

// Two server starts and three runs of the long job: generous under a loaded CI machine.
describe('SIGKILL in the middle of a long job, then restart on the same DATA_DIR', { timeout: 120_000 }, () => {
  it('finishes the job as an uninterrupted run would, each event once, ended jobs byte for byte', async () => {
    const ref = reference(LONG_SPEC);
    const env = { DATA_DIR: dataDir, WORKERS: '1' };

    const first = await startServer(env);
    servers.push(first);

    // A job that ends before the crash: its every representation must survive unchanged.
    const ended = await submit(first.url, SHORT_SPEC);
    await vi.waitFor(async () => expect((await getJob(first.url, ended.id)).status).toBe('succeeded'), WAIT);
    const endedPaths = [
      `/v1/jobs/${ended.id}`,
      `/v1/jobs/${ended.id}/result`,
      `/v1/jobs/${ended.id}/result?format=csv`,
      `/v1/jobs/${ended.id}/events?from=0`,
    ];
    const before = await Promise.all(endedPaths.map((p) => bytes(first.url + p)));
    for (const b of before) expect(b.status).toBe(200);

    // The long job: watch its stream, and kill the server once a few events have arrived.
    const long = await submit(first.url, LONG_SPEC);
    const seen = await readEvents(first.url, long.id, 0, (e) => e.seq >= 10);
    expect(seen.some((e) => e.type === 'done')).toBe(false);
    const killedAt = await getJob(first.url, long.id);
    expect(killedAt.status).toBe('running');
    expect(killedAt.progress.step).toBeLessThan(killedAt.progress.steps);
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');

    const second = await startServer(env);
    servers.push(second);

    // The ended job, byte for byte.
    const after = await Promise.all(endedPaths.map((p) => bytes(second.url + p)));
    expect(after).toEqual(before);

    // The client reconnects where it left off and gets the rest, exactly once, in order.
    const lastSeen = seen[seen.length - 1].seq;
    const rest = await readEvents(second.url, long.id, lastSeen + 1);
    const all = [...seen, ...rest];
    expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i));
    const done = all[all.length - 1];
    expect(done.type).toBe('done');
    if (done.type !== 'done') return;
    expect(done.status).toBe('succeeded');

    // Same events and same series as the uninterrupted run, exactly (deterministic engine).
    const steps = all.filter((e) => e.type === 'step');
    expect(steps).toHaveLength(ref.steps.length);
    steps.forEach((e, i) => {
      expect(e).toEqual({ ...ref.steps[i], seq: e.seq });
    });
    expect(done.summary).toEqual(ref.summary);
    const result = await json<{ series?: unknown; summary?: unknown }>(`${second.url}/v1/jobs/${long.id}/result`);
    expect(result.status).toBe(200);
    expect(result.body.series).toEqual(ref.series);

    // A late reader on the restarted server gets the same history from 0.
    const replay = await readEvents(second.url, long.id, 0);
    expect(replay).toEqual(all);

    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  });
});
