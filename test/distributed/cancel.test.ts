/**
 * Cancellation across processes on the real Redis: an "API" connection cancels, the "worker" bus
 * watching the job hears it; a job cancelled before it was watched is reported as such (it never
 * starts); the other workers' jobs are untouched; a lost message is caught by the backstop poll.
 * Delivery latency is a benchmark matter (docs/scaling.md); here only the behaviour is asserted.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { CancelBus } from '../../src/runtime/distributed/cancel.js';
import { deleteKeys, REDIS_URL, redisSkipReason, testKeyPrefix } from './engines.js';

const skip = await redisSkipReason();
const prefix = testKeyPrefix();
const connections: Redis[] = [];
const buses: CancelBus[] = [];
const connect = () => {
  const r = new Redis(REDIS_URL);
  connections.push(r);
  return r;
};
const bus = (pollMs = 60_000) => {
  const b = new CancelBus(connect(), connect(), { prefix, pollMs });
  buses.push(b);
  return b;
};
afterAll(async () => {
  for (const b of buses) b.close();
  if (!skip) await deleteKeys(connections[0], prefix);
  for (const c of connections) c.disconnect();
});

describe.skipIf(Boolean(skip))(`cancellation over Redis${skip ? ` (${skip})` : ''}`, () => {
  it('reaches the worker process running the job, and only that one', async () => {
    const api = bus();
    const [w1, w2] = [bus(), bus()];
    await Promise.all([w1.start(), w2.start()]);
    const stopped: string[] = [];
    const a = await w1.watch('job-a', () => stopped.push('w1:a'));
    const b = await w2.watch('job-b', () => stopped.push('w2:b'));
    expect([a.cancelled, b.cancelled]).toEqual([false, false]);
    await api.cancel('job-a');
    await vi.waitFor(() => expect(stopped.length > 0).toBe(true), { timeout: 5000, interval: 5 });
    await new Promise((r) => setTimeout(r, 50));
    expect(stopped).toEqual(['w1:a']);
    expect(w1.watching).toBe(0);
    expect(w2.watching).toBe(1);
    b.stop();
    expect(w2.watching).toBe(0);
  });

  it('a job cancelled while queued is reported cancelled when a worker picks it up: it never starts', async () => {
    const api = bus();
    const worker = bus();
    await api.cancel('job-q');
    let called = false;
    const w = await worker.watch('job-q', () => {
      called = true;
    });
    expect(w.cancelled).toBe(true);
    expect(called).toBe(false);
    expect(worker.watching).toBe(0);
    expect(await worker.isCancelled('job-other')).toBe(false);
  });

  it('a cancellation whose message was lost is caught by the backstop poll', async () => {
    const worker = bus(50);
    let called = 0;
    await worker.watch('job-lost', () => called++);
    // The mark alone, no PUBLISH: what a worker sees when the message went missing.
    await connections[0].set(`${prefix}cancel:job-lost`, '1', 'PX', 60_000);
    await vi.waitFor(() => expect(called === 1).toBe(true), { timeout: 5000, interval: 5 });
    await new Promise((r) => setTimeout(r, 150));
    expect(called).toBe(1);
  });
});
