/**
 * The classic results as ready sweeps (POST /v1/sweeps bodies). Data only; test/sweep/classics.test.ts
 * runs their cells through the engine and asserts each finding.
 */
import type { SweepPresetInput } from './sweep.js';

const SQRT1_2 = Math.SQRT1_2;

export const sweepPresets: SweepPresetInput[] = [
  {
    id: 'sweep-he-2015',
    title: 'He et al. 2015: ReLU init, 30 layers',
    source:
      'K. He, X. Zhang, S. Ren, J. Sun, "Delving Deep into Rectifiers", ICCV 2015, §2.2 (eqs. 10 and 14: the variance factor ½·n·Var[w] per layer, forward and backward).',
    finding:
      'With Var(W) = 1/fanIn each ReLU layer halves the backward signal’s second moment: after 29 layers ‖∂L/∂z_1‖/‖∂L/∂z_30‖ ≈ 2^−14.5; with Var(W) = 2/fanIn it stays O(1).',
    request: {
      name: 'He et al. 2015',
      base: {
        seed: 1,
        network: { kind: 'mlp', depth: 30, width: 256, activation: 'relu', init: { scheme: 'he', gain: 1 } },
        data: { kind: 'synthetic', samples: 64 },
        training: { steps: 1, batchSize: 64, learningRate: 0.001 },
      },
      axes: [
        {
          path: 'network.init.gain',
          values: [SQRT1_2, 1],
          labels: ['std sqrt(1/fanIn)', 'std sqrt(2/fanIn)'],
        },
      ],
    },
  },
  {
    id: 'sweep-schoenholz-2017',
    title: 'Schoenholz et al. 2017: order to chaos in deep tanh nets',
    source:
      'S. S. Schoenholz, J. Gilmer, S. Ganguli, J. Sohl-Dickstein, "Deep Information Propagation", ICLR 2017 (χ₁ = σ_w²·E[φ′(√q*·z)²]; gradients scale as χ₁^(L/2); trainable to depth ≈ 6ξ, ξ = −1/ln χ₁).',
    finding:
      'The step-1 backward signal changes by ≈ √χ₁ per layer: at depth 5 every σ_w keeps it within e^±3, at depth 100–200 only σ_w ≈ 1 (χ₁ = 1 at σ_b = 0) does; below it vanishes (ordered), above it explodes (chaotic).',
    request: {
      name: 'Schoenholz et al. 2017',
      base: {
        seed: 2,
        network: {
          kind: 'mlp',
          depth: 10,
          width: 64,
          activation: 'tanh',
          bias: false,
          init: { scheme: 'xavier', gain: 1 },
        },
        data: { kind: 'synthetic', samples: 64 },
        training: { steps: 20, batchSize: 64, learningRate: 0.01 },
      },
      axes: [
        { path: 'network.init.gain', values: [0.5, 0.75, 0.9, 1, 1.1, 1.25, 1.5, 2, 2.5, 3] },
        { path: 'network.depth', values: [5, 10, 20, 50, 100, 200] },
      ],
    },
  },
  {
    id: 'sweep-pascanu-2013',
    title: 'Pascanu et al. 2013: spectral radius × sequence length',
    source:
      'R. Pascanu, T. Mikolov, Y. Bengio, "On the difficulty of training recurrent neural networks", ICML 2013, §3.1 (λ₁ < 1/γ sufficient for vanishing, λ₁ > 1/γ necessary for exploding; ‖∂h_T/∂h_t‖ ≤ (γλ₁)^(T−t)).',
    finding:
      'With W_hh = λ·orthogonal, ‖∂L/∂h_1‖/‖∂L/∂h_T‖ is exactly λ^(T−1) for an identity-activation rnn; with tanh it is at most λ^(T−1) below λ = 1 and can grow above it.',
    request: {
      name: 'Pascanu et al. 2013',
      base: {
        seed: 3,
        network: {
          kind: 'rnn',
          hidden: 32,
          seqLength: 20,
          inputDim: 1,
          outputDim: 1,
          activation: 'tanh',
          bias: false,
          init: { scheme: 'orthogonal', gain: 1 },
        },
        data: { kind: 'synthetic', samples: 32 },
        training: { steps: 1, batchSize: 32, learningRate: 0.001 },
      },
      axes: [
        { path: 'network.init.gain', values: [0.5, 0.8, 0.9, 0.95, 1, 1.05, 1.1, 1.2, 1.5] },
        { path: 'network.seqLength', values: [10, 20, 50, 100, 200] },
        { path: 'network.activation', values: ['identity', 'tanh'] },
      ],
    },
  },
  {
    id: 'sweep-textbook',
    title: 'The textbook: W = gain·I, gain × depth, with and without clipping',
    source:
      'Goodfellow, Bengio, Courville, "Deep Learning" (2016), §8.2.5 (long-term dependencies: the product W^L explodes for |λ| > 1 and vanishes for |λ| < 1) and §10.11.1 (gradient clipping).',
    finding:
      'backwardGain = gain^(L−1) exactly: the explosion boundary is gain = 1; without clipping the deep gain > 1 cells blow up to non-finite values, with clip-norm every cell stays finite.',
    request: {
      name: 'Textbook: gain × depth × clipping',
      base: {
        seed: 4,
        network: { kind: 'linear', depth: 10, width: 2, init: { scheme: 'scaled-identity', gain: 1 } },
        data: { kind: 'synthetic', samples: 64 },
        training: { steps: 200, batchSize: 32, learningRate: 0.01 },
      },
      axes: [
        { path: 'network.init.gain', values: [0.5, 0.75, 0.9, 1, 1.1, 1.25, 1.5] },
        { path: 'network.depth', values: [1, 2, 5, 10, 20, 30] },
        {
          path: 'mitigations',
          values: [[], [{ kind: 'clip-norm', maxNorm: 1 }]],
          labels: ['none', 'clip-norm 1'],
        },
      ],
    },
  },
];
