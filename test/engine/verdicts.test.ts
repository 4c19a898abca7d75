/**
 * The two verdicts of src/engine/verdicts.ts, one boundary at a time: each case sits just inside or
 * just outside a threshold, so moving a constant or reordering the rules fails a case. Whole runs
 * are checked against the rules in test/presets.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { JobSpec } from '../../src/contract/spec.js';
import { simulate } from '../../src/engine/index.js';
import {
  CONVERGED_BASELINE_FACTOR,
  CONVERGED_LOSS_FACTOR,
  DIVERGED_LOSS_FACTOR,
  EXPLODING_BACKWARD_GAIN,
  EXPLODING_NORM_GROWTH,
  type GradientInputs,
  gradientVerdict,
  IMPROVING_TAIL_LOSS_FACTOR,
  type TrainingInputs,
  tailStart,
  trainingVerdict,
  VANISHING_BACKWARD_GAIN,
} from '../../src/engine/verdicts.js';

describe('gradients verdict', () => {
  const at = (x: Partial<GradientInputs>) => gradientVerdict({ backwardGain: 1, normGrowth: 1, ...x });

  it('exploding from the backward gain at step 1', () => {
    expect(at({ backwardGain: EXPLODING_BACKWARD_GAIN })).toBe('exploding');
    expect(at({ backwardGain: EXPLODING_BACKWARD_GAIN * 0.999 })).toBe('healthy');
  });

  it('exploding from the growth of the global norm over the run, whatever the gain', () => {
    expect(at({ normGrowth: EXPLODING_NORM_GROWTH })).toBe('exploding');
    expect(at({ normGrowth: EXPLODING_NORM_GROWTH * 0.999 })).toBe('healthy');
    expect(at({ normGrowth: EXPLODING_NORM_GROWTH, backwardGain: 1e-3 })).toBe('exploding');
  });

  it('vanishing from the backward gain; a shrinking norm (training) is not vanishing', () => {
    expect(at({ backwardGain: VANISHING_BACKWARD_GAIN })).toBe('vanishing');
    expect(at({ backwardGain: VANISHING_BACKWARD_GAIN * 1.001 })).toBe('healthy');
    expect(at({ normGrowth: 1e-9 })).toBe('healthy');
  });

  it('reads NaN (nothing measured) as healthy rather than guessing', () => {
    expect(at({ backwardGain: Number.NaN, normGrowth: Number.NaN })).toBe('healthy');
  });
});

describe('training verdict', () => {
  const base: TrainingInputs = { nonFinite: false, firstLoss: 1, finalLoss: 0.9, baselineLoss: 1, tailStartLoss: 0.9 };
  const at = (x: Partial<TrainingInputs>) => trainingVerdict({ ...base, ...x });

  it('puts a non-finite value first', () => {
    expect(at({ nonFinite: true, finalLoss: 1e-9 })).toBe('nonfinite');
  });

  it('diverged past the loss factor', () => {
    expect(at({ finalLoss: DIVERGED_LOSS_FACTOR * 1.0001, tailStartLoss: 100 })).toBe('diverged');
    expect(at({ finalLoss: DIVERGED_LOSS_FACTOR, tailStartLoss: 100 })).toBe('improving');
  });

  it('converged needs a tenfold fall and a fit better than the constant predictor', () => {
    expect(at({ finalLoss: CONVERGED_LOSS_FACTOR })).toBe('converged');
    expect(at({ finalLoss: CONVERGED_LOSS_FACTOR * 1.001 })).toBe('improving');
    const fromExplosion = { firstLoss: 3000, finalLoss: 2.4, baselineLoss: 0.8, tailStartLoss: 2.4 };
    expect(at(fromExplosion)).toBe('stalled');
    expect(at({ ...fromExplosion, finalLoss: CONVERGED_BASELINE_FACTOR * 0.8 })).toBe('converged');
  });

  it('improving when the loss still falls over the tail, else stalled', () => {
    expect(at({ finalLoss: 0.9, tailStartLoss: 0.9 / IMPROVING_TAIL_LOSS_FACTOR + 1e-9 })).toBe('improving');
    expect(at({ finalLoss: 0.9, tailStartLoss: 0.9 / IMPROVING_TAIL_LOSS_FACTOR - 1e-9 })).toBe('stalled');
    expect(at({ finalLoss: 0.9, tailStartLoss: 0.8 })).toBe('stalled');
  });

  it('the tail starts at the first record at or after 3/4 of the steps run', () => {
    const steps = Int32Array.from([1, 10, 20, 30, 40]);
    expect(tailStart(steps, 5, 40)).toBe(3);
    expect(tailStart(steps, 5, 41)).toBe(4);
    expect(tailStart(steps, 1, 1)).toBe(0);
  });
});

describe('clipping activity in a run', () => {
  const spec = (mitigations: JobSpec['mitigations'], record = 1) =>
    JobSpec.parse({
      seed: 3,
      network: { kind: 'mlp', depth: 3, width: 6, activation: 'tanh' },
      data: { kind: 'synthetic', samples: 16 },
      training: { steps: 40, batchSize: 16, learningRate: 0.1 },
      mitigations,
      record: { every: record },
    });

  it('counts every step, recorded or not, and matches the recorded norms when every step is recorded', () => {
    const all = simulate(spec([{ kind: 'clip-norm', maxNorm: 0.05 }])).summary.mitigation.clipping;
    const sparse = simulate(spec([{ kind: 'clip-norm', maxNorm: 0.05 }], 7)).summary.mitigation.clipping;
    expect(all?.stepsClipped).toBeGreaterThan(0);
    expect(sparse).toEqual(all);
  });

  it('is 0 of the steps with factor 1 for a clip that never acts, and null without a clip', () => {
    const never = simulate(spec([{ kind: 'clip-value', maxValue: 1e6 }])).summary.mitigation.clipping;
    expect(never).toEqual({ stepsClipped: 0, fraction: 0, maxFactor: 1 });
    expect(simulate(spec([])).summary.mitigation.clipping).toBeNull();
  });
});
