/**
 * Graceful shutdown at process level (issue 4): on SIGTERM the server drains (/readyz 503, new
 * jobs refused with 503) while running jobs get SHUTDOWN_GRACE_S; it exits 0. A job that finishes
 * within the grace is complete; one that does not is left queued, re-runs on the next start and
 * ends exactly as an uninterrupted run. WebSocket clients are told 1001 (going away).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import type { JobEvent } from '../../src/contract/events.js';
import { getJob, json, readEvents, type ServerProcess, startServer, submit, WAIT } from './process.js';
import { reference } from './reference.js';
import { LONG_SPEC } from './specs.js';

let root: string;
const servers: ServerProcess[] = [];

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'gl-sigterm-'));
});
afterAll(() => {
  for (const s of servers) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

async function start(env: Record<string, string>) {
  const server = await startServer(env);
  servers.push(server);
  return server;
}

function expectContiguous(events: JobEvent[]) {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
}

describe('SIGTERM', { timeout: 120_000 }, () => {
  let ref: ReturnType<typeof reference>;
  beforeAll(() => {
    ref = reference(LONG_SPEC);
  });

  it('drains: /readyz 503 and new jobs refused while the running job finishes within the grace; exit 0', async () => {
    const env = { DATA_DIR: join(root, 'finish'), SHUTDOWN_GRACE_S: '60' };
    const server = await start(env);
    expect((await json(`${server.url}/readyz`)).status).toBe(200);

    const job = await submit(server.url, LONG_SPEC);
    // A client following the job over NDJSON must get everything up to done during the drain.
    const streamed = readEvents(server.url, job.id, 0);
    await vi.waitFor(async () => {
      const j = await getJob(server.url, job.id);
      expect(j.status).toBe('running');
      expect(j.progress.step).toBeGreaterThan(0);
    }, WAIT);

    server.child.kill('SIGTERM');
    const readiness = await vi.waitFor(async () => {
      const r = await json<{ status: string }>(`${server.url}/readyz`);
      expect(r.status).toBe(503);
      return r.body;
    }, WAIT);
    expect(readiness.status).toBe('draining');
    // Still draining: the job has not ended yet, so the process is still up and refusing work.
    expect((await getJob(server.url, job.id)).status).toBe('running');
    const refused = await json<{ status: number; code?: string }>(`${server.url}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(LONG_SPEC),
    });
    expect(refused.status).toBe(503);

    const events = await streamed;
    expectContiguous(events);
    const done = events[events.length - 1];
    expect(done).toMatchObject({ type: 'done', status: 'succeeded' });
    expect((await server.exited).code).toBe(0);

    const again = await start(env);
    const stored = await getJob(again.url, job.id);
    expect(stored.status).toBe('succeeded');
    const result = await json<{ series: unknown }>(`${again.url}/v1/jobs/${job.id}/result`);
    expect(result.body.series).toEqual(ref.series);
    again.child.kill('SIGTERM');
    expect((await again.exited).code).toBe(0);
  });

  it('a second signal during the drain exits 1 at once; the interrupted job re-runs after restart', async () => {
    const env = { DATA_DIR: join(root, 'impatient'), SHUTDOWN_GRACE_S: '60' };
    const server = await start(env);
    const job = await submit(server.url, LONG_SPEC);
    await vi.waitFor(async () => {
      const j = await getJob(server.url, job.id);
      expect(j.status).toBe('running');
      expect(j.progress.step).toBeGreaterThan(0);
    }, WAIT);
    server.child.kill('SIGTERM');
    await vi.waitFor(async () => expect((await json(`${server.url}/readyz`)).status).toBe(503), WAIT);
    server.child.kill('SIGINT');
    expect(await server.exited).toEqual({ code: 1, signal: null });

    const again = await start(env);
    const events = await readEvents(again.url, job.id, 0);
    expectContiguous(events);
    expect(events[events.length - 1]).toMatchObject({ type: 'done', status: 'succeeded', summary: ref.summary });
    again.child.kill('SIGTERM');
    expect((await again.exited).code).toBe(0);
  });

  it('past the grace: sockets closed with 1001, the job is left queued and finishes after restart; exit 0', async () => {
    const env = { DATA_DIR: join(root, 'requeue'), SHUTDOWN_GRACE_S: '0' };
    const server = await start(env);
    const job = await submit(server.url, LONG_SPEC);

    const seen: JobEvent[] = [];
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/v1/jobs/${job.id}/stream?from=0`);
    ws.on('message', (data) => seen.push(JSON.parse(String(data)) as JobEvent));
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    await vi.waitFor(() => expect(seen.length).toBeGreaterThanOrEqual(5), WAIT);

    server.child.kill('SIGTERM');
    expect(await closed).toBe(1001);
    expect((await server.exited).code).toBe(0);
    expect(seen.some((e) => e.type === 'done')).toBe(false);

    const again = await start(env);
    const rest = await readEvents(again.url, job.id, seen[seen.length - 1].seq + 1);
    const all = [...seen, ...rest];
    expectContiguous(all);
    const steps = all.filter((e) => e.type === 'step');
    expect(steps).toHaveLength(ref.steps.length);
    steps.forEach((e, i) => {
      expect(e).toEqual({ ...ref.steps[i], seq: e.seq });
    });
    expect(all[all.length - 1]).toMatchObject({ type: 'done', status: 'succeeded', summary: ref.summary });
    const result = await json<{ series: unknown }>(`${again.url}/v1/jobs/${job.id}/result`);
    expect(result.body.series).toEqual(ref.series);
    again.child.kill('SIGTERM');
    expect((await again.exited).code).toBe(0);
  });
});
