// The causes and mitigations of docs/design.md "What it reproduces", end to end through simulate: each cause
// produces its symptom, and the matching mitigation removes it (outcome rules in docs/engine.md).
import { describe, expect, it } from 'vitest';
import type { JobSpecInput } from '../../src/contract/spec.js';
import { simulate } from '../../src/engine/index.js';
import { parse } from './helpers.js';

const run = (input: JobSpecInput) => simulate(parse(input)).summary;

describe('causes and mitigations', () => {
  it('badly scaled inputs (featureScales [1, 1000]) blow up; input-normalization converges', () => {
    const bad: JobSpecInput = {
      network: { kind: 'linear', depth: 2, width: 2, inputDim: 2, outputDim: 1 },
      data: { kind: 'synthetic', featureScales: [1, 1000] },
      training: { steps: 300, learningRate: 0.01 },
    };
    expect(run(bad).outcome).toBe('nonfinite');
    expect(run({ ...bad, mitigations: [{ kind: 'input-normalization' }] }).outcome).toBe('converged');
  });

  it('too high a learning rate ends in non-finite values; clip-norm keeps the run finite', () => {
    const hot: JobSpecInput = {
      seed: 1,
      network: { kind: 'mlp', depth: 4, width: 16, inputDim: 4, outputDim: 1 },
      training: { steps: 300, learningRate: 2 },
    };
    expect(run(hot).outcome).toBe('nonfinite');
    const clipped = run({ ...hot, mitigations: [{ kind: 'clip-norm', maxNorm: 1 }] });
    expect(clipped.nonFinite).toBeNull();
    expect(['stable', 'converged']).toContain(clipped.outcome);
    expect(run({ ...hot, training: { steps: 300, learningRate: 0.1 } }).outcome).toBe('converged');
  });

  it('a deep sigmoid mlp vanishes; batch-norm restores the backward signal', () => {
    const deep: JobSpecInput = {
      network: { kind: 'mlp', depth: 20, width: 32, activation: 'sigmoid' },
      training: { steps: 3, learningRate: 0.1 },
    };
    const plain = run(deep);
    expect(plain.outcome).toBe('vanishing');
    expect(plain.backwardGain as number).toBeLessThan(1e-6);
    const bn = run({ ...deep, mitigations: [{ kind: 'batch-norm' }] });
    expect(bn.backwardGain as number).toBeGreaterThan(0.1);
    expect(bn.outcome).toBe('stable');
  });

  it('ReLU with std √(1/fanIn) vanishes over 20 layers; He initialization does not', () => {
    const net = { kind: 'mlp', depth: 20, width: 64, activation: 'relu' } as const;
    const training = { steps: 2, learningRate: 0.001 };
    expect(run({ network: { ...net, init: { scheme: 'gaussian', std: 1 / 8 } }, training }).outcome).toBe('vanishing');
    const he = run({ network: { ...net, init: { scheme: 'he', gain: 1 } }, training });
    expect(he.outcome).not.toBe('vanishing');
    expect(he.backwardGain as number).toBeGreaterThan(0.1);
  });

  it('an rnn over 100 steps vanishes with a small W_hh and explodes with a large one', () => {
    // ‖∂L/∂h_1‖/‖∂L/∂h_T‖ at these two scales: about 3e-71 and 1e12 (seed 2), far from the thresholds.
    const rnn = (std: number): JobSpecInput => ({
      seed: 2,
      network: { kind: 'rnn', hidden: 16, seqLength: 100, init: { scheme: 'gaussian', std } },
      training: { steps: 2, learningRate: 0.001 },
    });
    expect(run(rnn(0.05)).outcome).toBe('vanishing');
    expect(run(rnn(1)).outcome).toBe('exploding');
  });
});
