// Non-finite provenance: the first NaN/±Infinity, where it appeared, reported once; the run stops
// there by default and never throws. Overflow thresholds: float32 max ≈ 3.4028e38 (IEEE 754
// binary32), float64 max ≈ 1.7977e308.
import { describe, expect, it } from 'vitest';
import type { JobSpecInput } from '../../src/contract/spec.js';
import { simulate } from '../../src/engine/index.js';
import type { NonFiniteInfo } from '../../src/engine/types.js';
import { parse } from './helpers.js';

function oneWeight(opts: {
  w: number;
  x: number;
  y: number;
  dtype: 'float32' | 'float64';
  lr?: number;
  steps?: number;
  stopOnNonFinite?: boolean;
  every?: number;
}): JobSpecInput {
  return {
    network: {
      kind: 'linear',
      depth: 1,
      inputDim: 1,
      outputDim: 1,
      init: { scheme: 'explicit', weights: [[[opts.w]]] },
    },
    data: { kind: 'explicit', inputs: [[opts.x]], targets: [[opts.y]] },
    training: {
      steps: opts.steps ?? 3,
      learningRate: opts.lr ?? 1e-3,
      dtype: opts.dtype,
      stopOnNonFinite: opts.stopOnNonFinite ?? true,
    },
    record: { every: opts.every ?? 1 },
  };
}

function run(input: JobSpecInput) {
  const reports: NonFiniteInfo[] = [];
  const out = simulate(parse(input), { onNonFinite: (info) => reports.push(info) });
  return { out, reports };
}

describe('float32 overflow is reported with provenance', () => {
  it('an activation overflows where float32 would: 1e5^8 > 3.4e38 at layer W8', () => {
    const input: JobSpecInput = {
      network: { kind: 'linear', depth: 10, width: 2, init: { scheme: 'scaled-identity', gain: 1e5 } },
      data: { kind: 'explicit', inputs: [[1, 1]], targets: [[0, 0]] },
      training: { steps: 5, dtype: 'float32' },
    };
    const { out, reports } = run(input);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ step: 1, tensor: 'activation', layer: 'W8', value: 'Infinity' });
    expect(reports[0].where).toContain('W8');
    expect(out.summary).toMatchObject({ outcome: 'nonfinite', firstNonFiniteStep: 1, stepsRun: 1, stopped: true });
    expect(out.status).toBe('completed');
    // The same network in float64 stays finite (1e5^10 = 1e50).
    const f64 = run({ ...input, training: { steps: 1, dtype: 'float64' } });
    expect(f64.reports).toHaveLength(0);
  });

  it('a norm overflows while every entry is finite: ∂L/∂W = 4e20, its square 1.6e41 > 3.4e38', () => {
    // ŷ = 1e10, y = −1e10: loss (2e10)² = 4e20 and the gradient 2·2e10·1e10 = 4e20 are finite floats.
    const { out, reports } = run(oneWeight({ w: 1, x: 1e10, y: -1e10, dtype: 'float32' }));
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ step: 1, tensor: 'norm', layer: 'W1', value: 'Infinity' });
    expect(reports[0].where).toBe('norm: gradient norm of W1');
    expect(out.series.loss[0]).toBe(Math.fround(4e20));
    expect(out.series.gradNorm[0]).toBe(Number.POSITIVE_INFINITY);
    // float64 squares 4e20 without trouble.
    const f64 = run(oneWeight({ w: 1, x: 1e10, y: -1e10, dtype: 'float64', steps: 1 }));
    expect(f64.reports).toHaveLength(0);
    expect(f64.out.series.gradNorm[0]).toBe(4e20);
  });

  it('the loss overflows while the output is finite: (1e20)² > 3.4e38', () => {
    const { reports } = run(oneWeight({ w: 1, x: 1e20, y: 0, dtype: 'float32' }));
    expect(reports[0]).toMatchObject({ step: 1, tensor: 'loss', layer: null, where: 'loss', value: 'Infinity' });
  });

  it('a weight overflows in the update: 1 − 3e38·2 < −3.4e38', () => {
    const { out, reports } = run(oneWeight({ w: 1, x: 1, y: 0, dtype: 'float32', lr: 3e38 }));
    expect(reports[0]).toMatchObject({ step: 1, tensor: 'weight', layer: 'W1', value: '-Infinity' });
    expect(reports[0].where).toBe('weight W1 after the update');
    expect(out.series.paramNorm[0]).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('divergence to non-finite values in float64', () => {
  // r_{k+1} = (1 − 2·lr)·r_k = −19·r_k: the loss 19^(2k) passes 1.8e308 after about 120 steps.
  const diverging = (extra: { stopOnNonFinite?: boolean; every?: number; steps?: number }) =>
    oneWeight({ w: 0, x: 1, y: 1, dtype: 'float64', lr: 10, steps: extra.steps ?? 300, ...extra });

  it('stops at the first non-finite step, records it and reports it once', () => {
    const { out, reports } = run(diverging({ every: 50 }));
    expect(reports).toHaveLength(1);
    const step = reports[0].step;
    expect(step).toBeGreaterThan(100);
    expect(step).toBeLessThan(130);
    const recorded = Array.from(out.series.steps.subarray(0, out.series.length));
    expect(recorded).toEqual([1, 50, 100, step]);
    expect(out.summary).toMatchObject({ outcome: 'nonfinite', firstNonFiniteStep: step, stepsRun: step });
    expect(out.summary.nonFinite).toEqual(reports[0]);
    // Before the first non-finite step every recorded loss is finite.
    for (let i = 0; i < out.series.length - 1; i++) expect(Number.isFinite(out.series.loss[i])).toBe(true);
  });

  it('with stopOnNonFinite false it runs to the end and still reports only the first', () => {
    const { out, reports } = run(diverging({ stopOnNonFinite: false, every: 100 }));
    expect(reports).toHaveLength(1);
    expect(out.summary.stepsRun).toBe(300);
    expect(out.summary.stopped).toBe(false);
    expect(Array.from(out.series.steps.subarray(0, out.series.length))).toEqual([1, 100, reports[0].step, 200, 300]);
    expect(out.summary.outcome).toBe('nonfinite');
  });

  it('never throws, even when the first forward pass overflows', () => {
    const { out, reports } = run({
      network: { kind: 'mlp', depth: 3, width: 4, activation: 'tanh', init: { scheme: 'gaussian', std: 1e300 } },
      data: { kind: 'synthetic', featureScales: [1e10, 1, 1, 1] },
      training: { steps: 4, dtype: 'float64' },
    });
    expect(reports[0]).toMatchObject({ step: 1, tensor: 'activation', layer: 'W1' });
    expect(['Infinity', '-Infinity']).toContain(reports[0].value);
    expect(out.summary.outcome).toBe('nonfinite');
  });

  it('an rnn whose hidden state overflows names the time step', () => {
    const { out, reports } = run({
      seed: 2,
      network: { kind: 'rnn', hidden: 8, seqLength: 100, activation: 'relu', init: { scheme: 'gaussian', std: 3 } },
      training: { steps: 20, dtype: 'float32' },
    });
    expect(reports).toHaveLength(1);
    expect(reports[0].step).toBe(1);
    expect(reports[0].tensor).toBe('activation');
    expect(reports[0].where).toMatch(/^activation: hidden pre-activation at t=\d+$/);
    expect(out.summary.outcome).toBe('nonfinite');
  });
});

describe('provenance in identity networks, which probe only their output', () => {
  it('an overflow at W2 is reported at W2 even when W3 = 0 turns it into NaN (∞·0)', () => {
    // float64: 1e200·1e200 = ∞ > 1.8e308 at W2; W3·∞ = 0·∞ = NaN at the output.
    const { out, reports } = run({
      network: {
        kind: 'linear',
        depth: 3,
        inputDim: 1,
        outputDim: 1,
        width: 1,
        init: { scheme: 'explicit', weights: [[[1e200]], [[1e200]], [[0]]] },
      },
      data: { kind: 'explicit', inputs: [[1]], targets: [[0]] },
      training: { steps: 3 },
    });
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ step: 1, tensor: 'activation', layer: 'W2', value: 'Infinity' });
    expect(out.summary).toMatchObject({ outcome: 'nonfinite', firstNonFiniteStep: 1 });
  });
});
