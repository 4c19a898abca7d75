// Closed forms and published results, each cited, each compared with a stated tolerance.
import { describe, expect, it } from 'vitest';
import { initParams, simulate } from '../../src/engine/index.js';
import { forwardStats } from '../../src/engine/stats.js';
import { parse } from './helpers.js';

/** |a − b| ≤ tol·|b|. */
function expectRel(a: number, b: number, tol: number, label = '') {
  expect(Math.abs(a - b), `${label}: ${a} vs ${b}`).toBeLessThanOrEqual(tol * Math.abs(b));
}

function textbook(gain: number, steps = 1) {
  // docs/design.md "What it reproduces": y = W_L…W_1 x with W_l = gain·I (2×2), L = 10. Inputs e₁, e₂ make
  // the output the product matrix itself; targets 0 make ∂L/∂ŷ = 2ŷ/(B·O) = ŷ/2.
  return parse({
    network: { kind: 'linear', depth: 10, width: 2, init: { scheme: 'scaled-identity', gain } },
    data: {
      kind: 'explicit',
      inputs: [
        [1, 0],
        [0, 1],
      ],
      targets: [
        [0, 0],
        [0, 0],
      ],
    },
    training: { steps, learningRate: 1e-4 },
  });
}

describe('deep linear network with W = gain·I (docs/design.md, the textbook example)', () => {
  it.each([
    [1.5, 57.6650390625],
    [0.5, 0.0009765625],
  ])('gain %d, L = 10: the forward product is exactly gain^10·I = %d·I', (gain, product) => {
    // Every partial product is a power of 1.5 or 0.5 times I, exact in binary floating point,
    // so the comparison is exact.
    const { output } = forwardStats(textbook(gain));
    expect(Array.from(output)).toEqual([product, 0, 0, product]);
  });

  it.each([1.5, 0.5])(
    'gain %d: equal per-layer gradient norms carrying gain^(L−1); backwardGain = gain^(L−1)',
    (gain) => {
      const spec = textbook(gain);
      const out = simulate(spec);
      const L = 10;
      // ∂L/∂W_l = (gain^(L−l))ᵀ·∂L/∂ŷ·(gain^(l−1)·x)ᵀ = gain^(L−1)·(ŷ/2)·Iᵀ with ŷ = gain^L·I:
      // ‖∂L/∂W_l‖_F = gain^(L−1)·gain^L/2·√2 for every l. Tolerance 1e-12 relative (a few roundings
      // of the non-exact ŷ/2·gain products).
      const expected = (gain ** (L - 1) * gain ** L * Math.SQRT2) / 2;
      for (let l = 0; l < L; l++) expectRel(out.series.layerGradNorm[l][0], expected, 1e-12, `W${l + 1}`);
      expectRel(out.summary.backwardGain as number, gain ** (L - 1), 1e-12, 'backwardGain');
      expectRel(out.summary.layerGradRatio as number, 1, 1e-12, 'layerGradRatio');
      expect(out.summary.predictedForwardGain).toBe(gain ** L);
      expect(out.summary.predictedLayerGradFactor).toBe(gain ** (L - 1));
      expect(out.summary.outcome).toBe(gain > 1 ? 'exploding' : 'vanishing');
    },
  );

  it('the global norm is the L2 norm of the per-layer norms (no biases here)', () => {
    const out = simulate(textbook(1.5));
    let s = 0;
    for (let l = 0; l < 10; l++) s += out.series.layerGradNorm[l][0] ** 2;
    expectRel(out.series.gradNorm[0], Math.sqrt(s), 1e-14);
  });
});

describe('He et al. 2015 (Delving deep into rectifiers, §2.2): 30 ReLU layers of width 512', () => {
  const spec = (init: { scheme: 'he'; gain: number } | { scheme: 'gaussian'; std: number }) =>
    parse({
      seed: 1,
      network: { kind: 'mlp', depth: 30, width: 512, activation: 'relu', bias: false, init },
      data: { kind: 'synthetic', samples: 32 },
    });

  it('std √(2/fanIn) keeps every pre-activation second moment within a factor 4 of the input’s', () => {
    const s = forwardStats(spec({ scheme: 'he', gain: 1 }));
    for (const [l, q] of s.preActivationSecondMoments.entries()) {
      const r = q / s.inputSecondMoment;
      expect(r, `layer ${l + 1}`).toBeGreaterThanOrEqual(1 / 4);
      expect(r, `layer ${l + 1}`).toBeLessThanOrEqual(4);
    }
  });

  it('std √(1/fanIn) halves it per layer: layer 30 within a factor 10 of 2^−30', () => {
    const s = forwardStats(spec({ scheme: 'gaussian', std: Math.sqrt(1 / 512) }));
    const r = s.preActivationSecondMoments[29] / s.inputSecondMoment;
    expect(r).toBeGreaterThanOrEqual(2 ** -30 / 10);
    expect(r).toBeLessThanOrEqual(2 ** -30 * 10);
  });
});

/** Largest singular value by power iteration on WᵀW (converged to 1e-14 relative). */
function spectralNorm(w: Float64Array, n: number): number {
  let v = new Float64Array(n).fill(1);
  let sigma = 0;
  for (let it = 0; it < 10_000; it++) {
    const wv = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) wv[i] += w[i * n + j] * v[j];
    const wtwv = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) wtwv[j] += w[i * n + j] * wv[i];
    const norm = Math.hypot(...wtwv);
    v = wtwv.map((x) => x / norm);
    const next = Math.sqrt(norm);
    if (Math.abs(next - sigma) <= 1e-15 * next) return next;
    sigma = next;
  }
  return sigma;
}

describe('Pascanu et al. 2013 (On the difficulty of training RNNs, §3): ‖∂L/∂h_t‖ ≤ (γλ₁)^(T−t)·‖∂L/∂h_T‖', () => {
  it.each([
    ['identity', 0.25],
    ['identity', 0.5],
    ['tanh', 0.5],
  ] as const)('%s rnn, gaussian W_hh std %d, T = 40 (γ = 1)', (activation, std) => {
    const spec = parse({
      seed: 4,
      network: { kind: 'rnn', hidden: 6, seqLength: 40, inputDim: 2, activation, init: { scheme: 'gaussian', std } },
      data: { kind: 'synthetic', samples: 8 },
      training: { steps: 1 },
      record: { hiddenGradNorms: true },
    });
    const init = initParams(spec);
    if (init.kind !== 'rnn') throw new Error('expected rnn params');
    const lambda1 = spectralNorm(init.recurrentWeights.w, 6);
    const out = simulate(spec);
    const h = out.series.hiddenGradNorms![0];
    const T = 40;
    expect(h.length).toBe(T);
    for (let t = 1; t <= T; t++) {
      // ∂L/∂h_t = (diag(φ′)·W_hh)ᵀ…∂L/∂h_T: each factor has norm ≤ γλ₁. 1e-12 relative slack for rounding.
      expect(h[t - 1], `t=${t}`).toBeLessThanOrEqual(lambda1 ** (T - t) * h[T - 1] * (1 + 1e-12));
    }
    expectRel(out.summary.backwardGain as number, h[0] / h[T - 1], 1e-15, 'backwardGain');
  });
});
