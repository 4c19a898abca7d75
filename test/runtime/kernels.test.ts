/**
 * The runtime's kernels setting (RuntimeConfig.kernels, ENGINE_KERNELS): jobs run in real worker
 * threads with the kernels they were submitted with, and their record says which. Exact jobs give
 * exactly the bits of the engine run in-process; FMA jobs stay within 1e-12 (relative) of them
 * without being bit-identical (one rounding per fused multiply-add instead of two); a job left
 * unfinished by a restart runs again with its recorded kernels whatever the new process's setting,
 * so its re-run gives the bits it would have given without the restart (docs/design.md).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SeriesJson } from '../../src/contract/events.js';
import { JobSpec } from '../../src/contract/spec.js';
import { seriesToJson, simulate } from '../../src/engine/index.js';
import { fmaAvailable } from '../../src/engine/wasm/index.js';
import { collect, Fixture, until } from './helpers.js';

const fx = new Fixture();
afterEach(() => fx.cleanup());

// Products of 16 × 16 × 16 multiply-adds run in WebAssembly (WASM_MIN_WORK = 256), where the builds differ.
const mlp = (steps: number) =>
  JobSpec.parse({
    network: { kind: 'mlp', depth: 4, width: 16, inputDim: 16, outputDim: 1, activation: 'tanh' },
    data: { kind: 'synthetic', samples: 64 },
    training: { steps, batchSize: 16, learningRate: 0.01 },
  });

/** Every number of a series, in a fixed order (non-finite ones, strings in JSON, as numbers). */
function numbers(s: SeriesJson): number[] {
  const all = [
    ...s.loss,
    ...s.gradNorm,
    ...s.clippedGradNorm,
    ...s.lr,
    ...s.paramNorm,
    ...s.layers.flatMap((l) => [...l.gradNorm, ...l.weightNorm, ...l.updateRatio, ...(l.backwardNorm ?? [])]),
  ];
  return all.map(Number);
}

function maxRelativeError(a: SeriesJson, b: SeriesJson): number {
  const x = numbers(a);
  const y = numbers(b);
  expect(x).toHaveLength(y.length);
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    worst = Math.max(worst, Math.abs(x[i] - y[i]) / Math.max(Math.abs(y[i]), 1e-300));
  }
  return worst;
}

describe.skipIf(!fmaAvailable())('kernels of a job', () => {
  it('exact (the default): recorded, and the series is bit-identical to the engine in-process', async () => {
    const spec = mlp(60);
    const rt = await fx.runtime({ workers: 1 });
    const job = await rt.submit(spec, null);
    expect(job.kernels).toBe('exact');
    await collect(rt, job.id);
    const result = (await rt.result(job.id, null))!;
    expect(result.job).toMatchObject({ status: 'succeeded', kernels: 'exact' });
    expect(seriesToJson(result.series)).toEqual(seriesToJson(simulate(spec).series));
  });

  it('fma: recorded, and the series is within 1e-12 of the exact run but not bit-identical', async () => {
    const spec = mlp(60);
    const rt = await fx.runtime({ workers: 1, kernels: 'fma' });
    const job = await rt.submit(spec, null);
    expect(job.kernels).toBe('fma');
    await collect(rt, job.id);
    const result = (await rt.result(job.id, null))!;
    expect(result.job).toMatchObject({ status: 'succeeded', kernels: 'fma' });
    const exact = seriesToJson(simulate(spec).series);
    const got = seriesToJson(result.series);
    expect(got.steps).toEqual(exact.steps);
    const err = maxRelativeError(got, exact);
    expect(err).toBeGreaterThan(0);
    expect(err).toBeLessThanOrEqual(1e-12);
  });

  it('a job left unfinished runs again after a restart with the kernels it was recorded with', async () => {
    const dataDir = fx.tempDir();
    const spec = mlp(4_000);
    const first = await fx.runtime({ dataDir, workers: 1, kernels: 'fma' });
    const job = await first.submit(spec, null);
    await until(first, job.id, (e) => e.seq >= 10);
    await first.close({ graceMs: 0 });

    // The new process's setting is exact: the job keeps fma (stored with it in jobs.db).
    const second = await fx.runtime({ dataDir, workers: 1, kernels: 'exact' });
    expect(await second.get(job.id, null)).toMatchObject({
      status: expect.stringMatching(/queued|running/),
      kernels: 'fma',
    });
    await collect(second, job.id);
    const resumed = (await second.result(job.id, null))!;
    expect(resumed.job).toMatchObject({ status: 'succeeded', kernels: 'fma' });

    const reference = await fx.runtime({ workers: 1, kernels: 'fma' });
    const uninterrupted = await reference.submit(spec, null);
    await collect(reference, uninterrupted.id);
    expect(seriesToJson(resumed.series)).toEqual(
      seriesToJson((await reference.result(uninterrupted.id, null))!.series),
    );
    // And not what the exact kernels give: the recorded kernels really ran.
    expect(maxRelativeError(seriesToJson(resumed.series), seriesToJson(simulate(spec).series))).toBeGreaterThan(0);
  });
});
