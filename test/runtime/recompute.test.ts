/**
 * Series on demand (src/runtime/recompute.ts): a job submitted with keep 'summary' stores no
 * series; reading its result or its events afterwards runs its spec again in a worker, through the
 * scheduler. The engine is deterministic, so the recomputed series must equal the one a twin job
 * with keep 'series' stored, bit for bit (toEqual compares numbers with Object.is: −0 ≠ +0, NaN =
 * NaN), for every network kind and both dtypes, and the replayed events must equal the live ones.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { JobEvent } from '../../src/contract/events.js';
import { encodeNum } from '../../src/contract/num.js';
import { JobSpec, type JobSpecInput } from '../../src/contract/spec.js';
import type { EmbeddedJobService, JobRecord } from '../../src/runtime/index.js';
import { TRACE_POINTS, traceIndices } from '../../src/runtime/trace.js';
import { collect, deferred, Fixture } from './helpers.js';

const fx = new Fixture();
// One runtime (one worker) for the whole file: starting a pool costs more than these runs.
let rt: EmbeddedJobService;
const ends = new Map<string, JobRecord>();
beforeAll(async () => {
  rt = await fx.runtime({ workers: 1 });
  rt.onJobEnd((job) => ends.set(job.id, job));
});
afterAll(() => fx.cleanup());

const cases: [string, JobSpecInput][] = [
  ['linear float64', { network: { kind: 'linear', depth: 5, width: 3 }, training: { steps: 120 } }],
  [
    'linear float32 exploding (non-finite, run on)',
    {
      network: { kind: 'linear', depth: 6, width: 3, init: { scheme: 'scaled-identity', gain: 3 } },
      training: { steps: 200, learningRate: 0.5, dtype: 'float32', stopOnNonFinite: false },
    },
  ],
  [
    'mlp float32, every 7th step',
    {
      network: { kind: 'mlp', depth: 4, width: 6 },
      training: { steps: 90, dtype: 'float32', optimizer: 'adam' },
      record: { every: 7 },
    },
  ],
  [
    'mlp float64 stopped at its first non-finite step',
    {
      network: { kind: 'mlp', depth: 3, width: 4 },
      training: { steps: 300, learningRate: 1e6 },
    },
  ],
  [
    'rnn float32 with hidden-state norms',
    {
      network: { kind: 'rnn', hidden: 4, seqLength: 6, inputDim: 2, outputDim: 1 },
      data: { kind: 'synthetic', samples: 16 },
      training: { steps: 60, batchSize: 8, dtype: 'float32' },
      record: { hiddenGradNorms: true },
    },
  ],
  [
    'rnn float64',
    {
      network: { kind: 'rnn', hidden: 5, seqLength: 8, inputDim: 3, outputDim: 2 },
      data: { kind: 'synthetic', samples: 12 },
      training: { steps: 50, batchSize: 4 },
    },
  ],
];

describe('series recomputed on demand', () => {
  it.each(cases)('%s: equals the stored series bit for bit, events included', async (name, input) => {
    const spec = JobSpec.parse(input);

    const full = await rt.submit(spec, null);
    const lean = await rt.submit(spec, null, { keep: 'summary' });
    const liveEvents = await collect(rt, lean.id);
    const fullEvents = await collect(rt, full.id);
    await vi.waitFor(() => expect(ends.has(lean.id) && ends.has(full.id)).toBe(true), { timeout: 20_000, interval: 5 });

    const stored = (await rt.result(full.id, null))!;
    const tasksBefore = rt.stats().tasksStarted;
    const recomputed = (await rt.result(lean.id, null))!;
    // It ran again, in a worker task of its own.
    expect(rt.stats().tasksStarted).toBe(tasksBefore + 1);
    expect(recomputed.series.steps.length).toBeGreaterThan(0);
    expect(recomputed.series).toEqual(stored.series);
    expect(recomputed.summary).toEqual(stored.summary);

    // The events of the recomputed log equal those the live run streamed, done included.
    const replay = await collect(rt, lean.id);
    expect(replay).toEqual(liveEvents);
    expect(replay.slice(0, -1)).toEqual(fullEvents.slice(0, -1));
    // The second read came from the cache: no new run.
    expect(rt.stats().tasksStarted).toBe(tasksBefore + 1);

    // The end listener got the compact trace instead of a series: the first, the last and the
    // first non-finite step are in it, and every point equals the series at that step.
    const trace = ends.get(lean.id)!.trace!;
    expect(ends.get(full.id)!.trace).toBeUndefined();
    const s = stored.series;
    expect(trace.steps.length).toBeLessThanOrEqual(TRACE_POINTS);
    expect(trace.steps[0]).toBe(s.steps[0]);
    expect(trace.steps.at(-1)).toBe(s.steps.at(-1));
    const nf = stored.summary!.firstNonFiniteStep;
    expect(nf !== null).toBe(name.includes('non-finite'));
    if (nf !== null) expect(trace.steps).toContain(nf);
    trace.steps.forEach((step, k) => {
      const i = s.steps.indexOf(step);
      // The result may carry raw numbers or their JSON names; the trace carries JSON names.
      expect(trace.loss[k]).toEqual(encodeNum(Number(s.loss[i])));
      expect(trace.gradNorm[k]).toEqual(encodeNum(Number(s.gradNorm[i])));
    });
  });

  it('a run cancelled part way is recomputed up to the step where it stopped', async () => {
    const spec = JobSpec.parse({
      network: { kind: 'mlp', depth: 3, width: 8 },
      training: { steps: 1_000_000, learningRate: 0.001 },
      record: { every: 1000 },
    });
    const job = await rt.submit(spec, null, { keep: 'summary' });
    const events: JobEvent[] = [];
    const ended = deferred<void>();
    await rt.subscribe(job.id, null, { from: 0, onEvent: (e) => events.push(e), onEnd: () => ended.resolve() });
    await vi.waitFor(() => expect(events.length >= 3).toBe(true), { timeout: 20_000, interval: 5 });
    await rt.cancel(job.id, null);
    await ended.promise;
    const record = (await rt.get(job.id, null))!;
    expect(record.status).toBe('cancelled');
    expect(record.summary!.stepsRun).toBeLessThan(1_000_000);
    const replay = await collect(rt, job.id);
    expect(replay).toEqual(events);
    const result = (await rt.result(job.id, null))!;
    expect(result.series.steps.at(-1)).toBe(record.summary!.stepsRun);
  });

  it('trace indices: at most 64, ends and the non-finite record kept', () => {
    expect(traceIndices(10, null)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const idx = traceIndices(1000, 517);
    expect(idx).toHaveLength(64);
    expect(idx[0]).toBe(0);
    expect(idx.at(-1)).toBe(999);
    expect(idx).toContain(517);
    expect([...idx].sort((a, b) => a - b)).toEqual(idx);
    expect(new Set(idx).size).toBe(idx.length);
    // Evenly spaced otherwise: gaps differ by at most one record (plus the moved point).
    const plain = traceIndices(1000, null);
    const gaps = plain.slice(1).map((x, i) => x - plain[i]);
    expect(Math.max(...gaps) - Math.min(...gaps)).toBeLessThanOrEqual(1);
  });
});
