/**
 * The outcome rules of src/engine/summary.ts, one boundary at a time: each case sits just inside
 * or just outside a threshold, so moving a constant or reordering the rules fails a case.
 */
import { describe, expect, it } from 'vitest';
import {
  CONVERGED_BASELINE_FACTOR,
  CONVERGED_LOSS_FACTOR,
  classify,
  DIVERGED_LOSS_FACTOR,
  EXPLODING_BACKWARD_GAIN,
  EXPLODING_NORM_GROWTH,
  type OutcomeInputs,
  VANISHING_BACKWARD_GAIN,
} from '../../src/engine/summary.js';

const base: OutcomeInputs = {
  nonFinite: false,
  firstLoss: 1,
  finalLoss: 0.9,
  baselineLoss: 1,
  backwardGain: 1,
  firstGradNorm: 1,
  maxGradNorm: 1,
};
const at = (change: Partial<OutcomeInputs>) => classify({ ...base, ...change });

describe('outcome rules', () => {
  it('puts a non-finite value first, whatever else holds', () => {
    expect(at({ nonFinite: true, finalLoss: 1e-9 })).toBe('nonfinite');
  });

  it('calls a loss that ran past the factor diverged', () => {
    expect(at({ finalLoss: DIVERGED_LOSS_FACTOR * 1.0001 })).toBe('diverged');
    expect(at({ finalLoss: DIVERGED_LOSS_FACTOR })).toBe('stable');
  });

  it('needs both a tenfold fall and a fit better than the constant predictor to call it converged', () => {
    expect(at({ finalLoss: CONVERGED_LOSS_FACTOR })).toBe('converged');
    expect(at({ finalLoss: CONVERGED_LOSS_FACTOR * 1.001 })).toBe('stable');
    // Fell 1000× from an exploded start, but still worse than predicting the mean: not converged,
    // and the step-1 diagnosis stands.
    const fromExplosion = { firstLoss: 3000, finalLoss: 2.4, baselineLoss: 0.8, backwardGain: 38 };
    expect(at(fromExplosion)).toBe('exploding');
    expect(at({ ...fromExplosion, finalLoss: CONVERGED_BASELINE_FACTOR * 0.8 })).toBe('converged');
  });

  it('diagnoses exploding from the backward gain or from norm growth over the run', () => {
    expect(at({ backwardGain: EXPLODING_BACKWARD_GAIN })).toBe('exploding');
    expect(at({ backwardGain: EXPLODING_BACKWARD_GAIN * 0.999 })).toBe('stable');
    expect(at({ maxGradNorm: EXPLODING_NORM_GROWTH })).toBe('exploding');
    expect(at({ maxGradNorm: EXPLODING_NORM_GROWTH * 0.999 })).toBe('stable');
  });

  it('diagnoses vanishing from the backward gain', () => {
    expect(at({ backwardGain: VANISHING_BACKWARD_GAIN })).toBe('vanishing');
    expect(at({ backwardGain: VANISHING_BACKWARD_GAIN * 1.001 })).toBe('stable');
  });
});
