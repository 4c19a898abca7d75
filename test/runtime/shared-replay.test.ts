/**
 * Issue 11, defect 3: every reader of one ended job shares one decoded copy of its log, even when
 * the log is larger than the ended-log cache (here a cache of 0 bytes keeps nothing): the store is
 * read and decoded once for many subscribers and results, not once per subscriber.
 */
import { describe, expect, it } from 'vitest';
import type { JobEvent } from '../../src/contract/events.js';
import { EndedLogCache } from '../../src/runtime/log-cache.js';
import { JobReads } from '../../src/runtime/reads.js';
import { MemoryJobStore } from '../../src/runtime/store/memory.js';
import type { StoredResult } from '../../src/runtime/store/types.js';
import { Telemetry } from '../../src/runtime/telemetry.js';
import { chunkOfRows, deferred, spec } from './helpers.js';

class CountingStore extends MemoryJobStore {
  reads = 0;
  override async getResult(id: string): Promise<StoredResult | null> {
    this.reads++;
    return super.getResult(id);
  }
}

async function endedJob(store: MemoryJobStore, records: number): Promise<string> {
  const shape = { layerNames: [], layerCount: 0, hiddenLength: 0 };
  const rows = new Float64Array(records * 6).map((_, i) => (i % 6 === 0 ? Math.floor(i / 6) + 1 : i * 1e-3));
  const t = new Telemetry(shape, records);
  t.appendColumns(chunkOfRows(shape, rows, records));
  const now = new Date().toISOString();
  const job = {
    id: `job-${records}`,
    name: null,
    status: 'succeeded' as const,
    owner: null,
    sweepId: null,
    spec: spec(),
    createdAt: now,
    startedAt: now,
    endedAt: now,
    step: records,
    summary: null,
    error: null,
    lastSeq: records,
    kernels: 'exact' as const,
  };
  await store.insert({ ...job, status: 'queued', endedAt: null, step: 0, lastSeq: -1 });
  await store.finish(job, {
    series: t.toBlob(),
    nonFinite: null,
    done: { type: 'done', seq: records, status: 'succeeded', summary: null },
  });
  return job.id;
}

function follow(reads: JobReads, id: string): { sub: Promise<unknown>; events: Promise<JobEvent[]> } {
  const events: JobEvent[] = [];
  const { promise, resolve } = deferred<JobEvent[]>();
  const sub = reads.subscribe(id, null, { from: 0, onEvent: (e) => events.push(e), onEnd: () => resolve(events) });
  return { sub, events: promise };
}

describe('replays of one ended job', () => {
  it('share one decoded log between concurrent and later readers, with a cache too small to keep it', async () => {
    const store = new CountingStore();
    const id = await endedJob(store, 5000);
    const reads = new JobReads(new Map(), store, new EndedLogCache(0));
    const readers = Array.from({ length: 8 }, () => follow(reads, id));
    const all = await Promise.all(readers.map((r) => r.events));
    for (const events of all) {
      expect(events).toHaveLength(5001);
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    }
    // A later reader and a result, while the first subscriptions' log is still reachable.
    const late = follow(reads, id);
    expect(await late.events).toHaveLength(5001);
    const result = await reads.result(id, null);
    expect(result?.series.length).toBe(5000);
    expect(store.reads).toBe(1);
  });
});
