/**
 * Fair scheduling on real BullMQ and Redis (src/runtime/distributed/lanes.ts): a single job behind
 * a long sweep starts within a window's worth of cells, lanes take turns, a job withdrawn from its
 * lane never starts, concurrent pumps from several processes never exceed a window nor hand a job
 * over twice, and jobs picked by a process that died before adding them to BullMQ are recovered.
 * Processors here only sleep: what is under test is the order in which BullMQ starts jobs.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { LaneDispatcher } from '../../src/runtime/distributed/lanes.js';
import { deleteKeys, REDIS_URL, redisSkipReason, testKeyPrefix } from './engines.js';

const skip = await redisSkipReason();
const prefix = testKeyPrefix();
const closers: (() => unknown)[] = [];
let admin: Redis | null = null;
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  if (admin) {
    await deleteKeys(admin, prefix);
    admin.disconnect();
  }
});

interface Payload {
  n: number;
}

let run = 0;
/** A queue, dispatchers over it, and a worker that records start order. */
async function setup(window: number, concurrency: number, cellMs: number, dispatchers = 1) {
  const name = `q${run++}`;
  const base = `${prefix}${name}:`;
  admin ??= new Redis(REDIS_URL);
  const connection = () => {
    const r = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    closers.push(() => r.disconnect());
    return r;
  };
  const queue = new Queue(name, { connection: connection(), prefix: `${base}bull` });
  closers.push(() => queue.close());
  const ds = Array.from(
    { length: dispatchers },
    () => new LaneDispatcher<Payload>(connection(), queue, { prefix: `${base}lanes:`, window }),
  );
  const started: string[] = [];
  const finished: string[] = [];
  const worker = new Worker(
    name,
    async (job) => {
      const { lane, id } = job.data as { lane: string; id: string };
      started.push(id);
      await new Promise((r) => setTimeout(r, cellMs));
      await ds[0].done(lane, id);
      finished.push(id);
    },
    { connection: connection(), prefix: `${base}bull`, concurrency, autorun: false },
  );
  closers.push(() => worker.close());
  return { queue, ds, worker, started, finished };
}

describe.skipIf(Boolean(skip))(`lanes over BullMQ${skip ? ` (${skip})` : ''}`, () => {
  /** 60 sweep cells, then (5 cells in) a single job of another lane: how many cells start before it. */
  async function cellsBeforeSingle(window: number) {
    const { ds, worker, started, finished } = await setup(window, 1, 5);
    const [d] = ds;
    for (let i = 0; i < 60; i++) await d.submit('sweep:s', `cell${i}`, { n: i });
    void worker.run();
    await vi.waitFor(() => expect(started.length >= 5).toBe(true), { timeout: 20000, interval: 10 });
    await d.submit('owner:alice', 'single', { n: 0 });
    // The single job is in BullMQ now.
    const startedWhenQueued = started.length;
    await vi.waitFor(() => expect(started.length === 61).toBe(true), { timeout: 20000, interval: 10 });
    // Cells still start in their own order.
    expect(started.filter((x) => x !== 'single')).toEqual(Array.from({ length: 60 }, (_, i) => `cell${i}`));
    await vi.waitFor(() => expect(finished.length === 61).toBe(true), { timeout: 20000, interval: 10 });
    expect(await d.inflight('sweep:s')).toEqual([]);
    return started.indexOf('single') - startedWhenQueued;
  }

  it('a single job submitted behind a 60-cell sweep starts within a window of cells', async () => {
    // Behind at most the sweep's window (2 cells, waiting or running).
    expect(await cellsBeforeSingle(2)).toBeLessThanOrEqual(2);
  });

  it('control: with an unbounded window (BullMQ alone, FIFO) it waits behind the rest of the sweep', async () => {
    expect(await cellsBeforeSingle(1000)).toBeGreaterThan(30);
  });

  it('lanes submitted one after the other take turns', async () => {
    const { ds, worker, started } = await setup(1, 1, 2);
    const [d] = ds;
    for (const lane of ['a', 'b', 'c']) for (let i = 0; i < 8; i++) await d.submit(lane, `${lane}${i}`, { n: i });
    void worker.run();
    await vi.waitFor(() => expect(started.length === 24).toBe(true), { timeout: 20000, interval: 10 });
    // With a window of 1, after the first pass each lane waits for the other two before it runs again.
    for (let i = 3; i <= started.length; i++) {
      const seen = started.slice(0, i).map((id) => id[0]);
      const counts = ['a', 'b', 'c'].map((l) => seen.filter((x) => x === l).length);
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(2);
    }
  });

  it('a job withdrawn while waiting in its lane never starts; one already in BullMQ is not withdrawn', async () => {
    const { ds, worker, started } = await setup(1, 1, 2);
    const [d] = ds;
    await d.submit('l', 'first', { n: 0 });
    await d.submit('l', 'second', { n: 1 });
    expect(await d.withdraw('l', 'second')).toBe(true);
    expect(await d.withdraw('l', 'first')).toBe(false);
    void worker.run();
    await vi.waitFor(() => expect(started.length === 1).toBe(true), { timeout: 20000, interval: 10 });
    await new Promise((r) => setTimeout(r, 100));
    expect(started).toEqual(['first']);
    expect(await d.waiting('l')).toBe(0);
  });

  it('three processes pumping at once hand each job to BullMQ once and never exceed the window', async () => {
    const { queue, ds, worker, started } = await setup(3, 2, 3, 3);
    await Promise.all(
      ds.map((d, k) =>
        (async () => {
          for (let i = 0; i < 20; i++) await d.submit('sweep', `p${k}-${i}`, { n: i });
        })(),
      ),
    );
    await Promise.all(ds.map((d) => d.pump()));
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(3);
    expect((await ds[1].inflight('sweep')).length).toBeLessThanOrEqual(3);
    void worker.run();
    await vi.waitFor(() => expect(started.length === 60).toBe(true), { timeout: 20000, interval: 10 });
    await new Promise((r) => setTimeout(r, 100));
    expect(new Set(started).size).toBe(60);
    expect(started.length).toBe(60);
  });

  it('jobs picked by a process that died before adding them to BullMQ are recovered by reconcile', async () => {
    const { queue, ds, worker, started } = await setup(2, 1, 2);
    const [d] = ds;
    await d.submit('l', 'x1', { n: 1 });
    // The submit's own pump handed x1 over; x2 and x3 are picked by a "process" that then dies.
    await queue.pause();
    const redis = new Redis(REDIS_URL);
    closers.push(() => redis.disconnect());
    await redis.rpush(`${prefix}q${run - 1}:lanes:lane:l`, 'x2', 'x3');
    await redis.hset(`${prefix}q${run - 1}:lanes:jobdata`, 'x2', '{"n":2}', 'x3', '{"n":3}');
    const lost = await new LaneDispatcher<Payload>(redis, queue, {
      prefix: `${prefix}q${run - 1}:lanes:`,
      window: 3,
    }).pick();
    expect(lost.map((j) => j.id)).toEqual(['x2', 'x3']);
    expect(await queue.getJob('x2')).toBeUndefined();
    expect(await d.reconcile()).toBe(2);
    expect(await d.reconcile()).toBe(0);
    await queue.resume();
    void worker.run();
    await vi.waitFor(() => expect(started.length === 3).toBe(true), { timeout: 20000, interval: 10 });
    expect([...started].sort()).toEqual(['x1', 'x2', 'x3']);
  });
});
