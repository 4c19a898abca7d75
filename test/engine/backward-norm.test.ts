/**
 * The backward signal per layer, ‖∂L/∂z_l‖ (z_l = layer l's pre-activation), recorded at every
 * recorded step for linear and mlp nets. Checked three ways: central finite differences on z_l
 * itself (one-sample batches, where z_l = W_l·a_(l−1) + b_l moves exactly as b_l does), the closed
 * form of W = g·I linear nets, and PyTorch (torch.test.ts, every step of its cases).
 */
import { describe, expect, it } from 'vitest';
import { decodeNum } from '../../src/contract/num.js';
import type { JobSpecInput } from '../../src/contract/spec.js';
import { seriesToJson, simulate, stepEventAt } from '../../src/engine/index.js';
import { fullBatchModel, parse } from './helpers.js';

/** ∂L/∂z_l by central differences on each entry of z_l (through b_l, one sample), and its norm. */
function finiteDifferenceNorms(input: JobSpecInput): { fd: number[]; analytic: Float64Array } {
  const { model } = fullBatchModel(input);
  expect(model.batch).toBe(1);
  model.forward();
  model.backward();
  const analytic = new Float64Array(model.weightSegments.length);
  model.backwardNorms(analytic);
  const p = model.params;
  const fd = model.segments
    .filter((s) => s.kind === 'bias')
    .map((seg) => {
      let sq = 0;
      for (let i = seg.offset; i < seg.offset + seg.length; i++) {
        const p0 = p[i];
        const h = 1e-6 * Math.max(1, Math.abs(p0));
        p[i] = p0 + h;
        const lp = model.forward();
        p[i] = p0 - h;
        const lm = model.forward();
        p[i] = p0;
        const d = (lp - lm) / (2 * h);
        sq += d * d;
      }
      return Math.sqrt(sq);
    });
  return { fd, analytic };
}

const oneSample = (network: JobSpecInput['network']): JobSpecInput => ({
  seed: 4,
  network,
  data: { kind: 'synthetic', samples: 1, noise: 0.5 },
  training: { steps: 1, batchSize: 1 },
});

describe('‖∂L/∂z_l‖ against finite differences', () => {
  it.each([
    ['mlp tanh', { kind: 'mlp', depth: 5, width: 6, inputDim: 3, outputDim: 2, activation: 'tanh' }],
    ['mlp sigmoid', { kind: 'mlp', depth: 4, width: 5, inputDim: 2, outputDim: 3, activation: 'sigmoid' }],
    [
      'mlp relu',
      { kind: 'mlp', depth: 4, width: 8, inputDim: 3, outputDim: 1, activation: 'relu', init: { scheme: 'he' } },
    ],
    ['linear with bias', { kind: 'linear', depth: 6, width: 4, bias: true, init: { scheme: 'xavier', gain: 1.3 } }],
  ] as const)('%s: every layer within 1e-6 relative', (_, network) => {
    const { fd, analytic } = finiteDifferenceNorms(oneSample(network as JobSpecInput['network']));
    expect(fd).toHaveLength(analytic.length);
    for (let l = 0; l < fd.length; l++) {
      expect(fd[l]).toBeGreaterThan(0);
      expect(Math.abs(analytic[l] - fd[l]) / fd[l], `layer ${l + 1}`).toBeLessThan(1e-6);
    }
  });
});

describe('‖∂L/∂z_l‖ of W = g·I linear nets', () => {
  it.each([
    [1.5, 10, 2],
    [0.5, 10, 2],
    [2, 6, 3],
  ])('g = %d, L = %d, width %d: g^(L−l)·‖∂L/∂z_L‖ at step 1, and the summary’s backward gain', (g, L, width) => {
    const out = simulate(
      parse({
        seed: 1,
        network: { kind: 'linear', depth: L, width, bias: false, init: { scheme: 'scaled-identity', gain: g } },
        data: { kind: 'synthetic', samples: 16 },
        training: { steps: 3, batchSize: 16, learningRate: 1e-4 },
      }),
    );
    const b = out.series.layerBackwardNorm;
    expect(b).toHaveLength(L);
    const last = b[L - 1][0];
    expect(last).toBeGreaterThan(0);
    for (let l = 1; l <= L; l++) {
      const expected = g ** (L - l) * last;
      expect(Math.abs(b[l - 1][0] / expected - 1), `layer ${l}`).toBeLessThan(1e-13);
    }
    // The same quantity the summary's backward gain is the ratio of, measured the same way.
    expect(b[0][0] / last).toBe(decodeNum(out.summary.backwardGain ?? 'NaN'));
  });
});

describe('where the backward norms appear', () => {
  const spec = (network: JobSpecInput['network'], record: JobSpecInput['record'] = {}) =>
    parse({
      seed: 2,
      network,
      data: { kind: 'synthetic', samples: 8 },
      training: { steps: 5, batchSize: 8 },
      record,
    });

  it('mlp: in every step event and every layer of the JSON series, equal to the engine columns', () => {
    const out = simulate(spec({ kind: 'mlp', depth: 3, width: 4, activation: 'tanh' }));
    const json = seriesToJson(out.series);
    for (const [l, layer] of json.layers.entries()) {
      expect(layer.backwardNorm).toEqual(Array.from(out.series.layerBackwardNorm[l].subarray(0, 5)));
    }
    for (let i = 0; i < out.series.length; i++) {
      const e = stepEventAt(out.series, i);
      expect(e.layers.map((x) => x.backwardNorm)).toEqual(out.series.layerBackwardNorm.map((c) => c[i]));
    }
  });

  it('absent for an rnn (it has hiddenGradNorms) and when layers are not recorded', () => {
    const rnn = simulate(spec({ kind: 'rnn', hidden: 3, seqLength: 4 }));
    expect(rnn.series.layerBackwardNorm).toEqual([]);
    expect(seriesToJson(rnn.series).layers.every((l) => l.backwardNorm === undefined)).toBe(true);
    expect(stepEventAt(rnn.series, 0).layers.every((l) => l.backwardNorm === undefined)).toBe(true);
    const quiet = simulate(spec({ kind: 'linear', depth: 3 }, { layers: false }));
    expect(quiet.series.layerBackwardNorm).toEqual([]);
  });
});
