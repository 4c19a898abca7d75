// Analytic gradients against central finite differences in float64 (relative error ≤ 1e-6 per
// parameter, with the floor explained in helpers.ts), for every network kind and activation.
import { describe, expect, it } from 'vitest';
import type { JobSpecInput } from '../../src/contract/spec.js';
import { fullBatchModel, gradCheck } from './helpers.js';

const TOL = 1e-6;
const data = { kind: 'synthetic' as const, samples: 7, noise: 0.3 };

function check(input: JobSpecInput) {
  const { model } = fullBatchModel(input);
  // Biases start at 0; with a dead ReLU layer below, a unit's pre-activation would then sit
  // exactly on relu's kink (relu′(0) = 0 by contract), where no finite difference agrees. Moving
  // the biases off 0 keeps the check on differentiable points and exercises their gradients.
  for (const seg of model.segments) {
    if (seg.kind !== 'bias') continue;
    for (let i = 0; i < seg.length; i++) model.params[seg.offset + i] = 0.05 * (i + 1) * (i % 2 ? -1 : 1);
  }
  const r = gradCheck(model);
  expect(r.maxAbsGrad, 'a check on all-zero gradients would prove nothing').toBeGreaterThan(1e-3);
  expect(r.maxRelError, r.worst).toBeLessThanOrEqual(TOL);
  return r;
}

describe('finite-difference gradient checks (float64)', () => {
  it.each([true, false])('linear, depth 4, bias %s', (bias) => {
    check({
      seed: 3,
      network: { kind: 'linear', depth: 4, width: 3, inputDim: 4, outputDim: 2, bias, init: { scheme: 'xavier' } },
      data,
    });
  });

  for (const activation of ['identity', 'tanh', 'relu', 'sigmoid'] as const) {
    it.each([true, false])(`mlp ${activation}, bias %s`, (bias) => {
      check({
        seed: 11,
        network: {
          kind: 'mlp',
          depth: 4,
          width: 5,
          inputDim: 3,
          outputDim: 2,
          activation,
          bias,
          init: { scheme: 'gaussian', std: 0.7 },
        },
        data,
      });
    });
  }

  it.each(['tanh', 'relu', 'sigmoid'] as const)('mlp %s with batch-norm (γ, β and biases included)', (activation) => {
    const { model } = fullBatchModel({
      seed: 5,
      network: { kind: 'mlp', depth: 3, width: 4, inputDim: 3, outputDim: 2, activation, init: { scheme: 'he' } },
      data,
      mitigations: [{ kind: 'batch-norm' }],
    });
    // Move γ and β off 1 and 0 so that their own gradients and the γ-path are exercised.
    for (const seg of model.segments) {
      for (let i = 0; i < seg.length; i++) {
        if (seg.kind === 'gamma') model.params[seg.offset + i] = 0.5 + 0.25 * i;
        if (seg.kind === 'beta') model.params[seg.offset + i] = 0.1 * (i - 1);
      }
    }
    expect(model.segments.some((s) => s.kind === 'gamma')).toBe(true);
    const r = gradCheck(model);
    expect(r.maxRelError, r.worst).toBeLessThanOrEqual(TOL);
  });

  it.each([
    ['tanh', true],
    ['tanh', false],
    ['identity', true],
    ['relu', true],
    ['relu', false],
  ] as const)('rnn %s, bias %s, T = 24', (activation, bias) => {
    const r = check({
      seed: 9,
      network: {
        kind: 'rnn',
        hidden: 5,
        seqLength: 24,
        inputDim: 3,
        outputDim: 2,
        activation,
        bias,
        init: { scheme: 'orthogonal', gain: 0.9 },
      },
      data: { kind: 'synthetic', samples: 5, noise: 0.3 },
    });
    expect(r.count).toBe(5 * 3 + 25 + 2 * 5 + (bias ? 5 + 2 : 0));
  });

  it('rnn biases are checked too (non-zero explicit biases)', () => {
    const { model } = fullBatchModel({
      network: {
        kind: 'rnn',
        hidden: 2,
        seqLength: 20,
        inputDim: 1,
        outputDim: 1,
        init: {
          scheme: 'explicit',
          inputWeights: [[0.5], [-0.3]],
          recurrentWeights: [
            [0.6, -0.4],
            [0.3, 0.7],
          ],
          hiddenBias: [0.1, -0.2],
          outputWeights: [[1.2, -0.8]],
          outputBias: [0.05],
        },
      },
      data: { kind: 'synthetic', samples: 4 },
    });
    const r = gradCheck(model);
    expect(r.maxRelError, r.worst).toBeLessThanOrEqual(TOL);
  });
});
