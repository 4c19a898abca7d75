// Initialization schemes (torch.nn.init conventions) and the seeded generator.
import { describe, expect, it } from 'vitest';
import type { JobSpecInput } from '../../src/contract/spec.js';
import { initParams } from '../../src/engine/index.js';
import { orthogonal } from '../../src/engine/init.js';
import { Rng } from '../../src/engine/rng.js';
import { parse } from './helpers.js';

function layers(input: JobSpecInput) {
  const p = initParams(parse(input));
  if (p.kind !== 'layered') throw new Error('expected layered');
  return p.layers;
}

function std(x: Float64Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s / x.length);
}

describe('Rng', () => {
  it('is a pure function of (seed, stream)', () => {
    const a = new Rng(42, 1);
    const b = new Rng(42, 1);
    const c = new Rng(42, 2);
    const xa = Array.from({ length: 5 }, () => a.nextU32());
    expect(Array.from({ length: 5 }, () => b.nextU32())).toEqual(xa);
    expect(Array.from({ length: 5 }, () => c.nextU32())).not.toEqual(xa);
  });

  it('normals have mean 0 and variance 1 (n = 200,000: within 5 standard errors)', () => {
    const rng = new Rng(3);
    const n = 200_000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const x = rng.normal();
      s += x;
      s2 += x * x;
    }
    expect(Math.abs(s / n)).toBeLessThan(5 / Math.sqrt(n));
    // Var of x² is 2 for a standard normal.
    expect(Math.abs(s2 / n - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
  });

  it('permutations are permutations', () => {
    const out = new Int32Array(100);
    new Rng(5).permutation(out, 100);
    expect(Array.from(out).sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
});

describe('schemes', () => {
  it('scaled-identity: gain × a rectangular identity; biases 0', () => {
    const [w1, w2] = layers({
      network: {
        kind: 'mlp',
        depth: 2,
        width: 3,
        inputDim: 2,
        outputDim: 2,
        init: { scheme: 'scaled-identity', gain: 2 },
      },
    });
    expect(Array.from(w1.w)).toEqual([2, 0, 0, 2, 0, 0]);
    expect(Array.from(w2.w)).toEqual([2, 0, 0, 0, 2, 0]);
    expect(Array.from(w1.b!)).toEqual([0, 0, 0]);
  });

  it.each([
    ['xavier', { scheme: 'xavier', gain: 1.5 } as const, 1.5 * Math.sqrt(2 / (300 + 200))],
    ['he', { scheme: 'he', gain: 1 } as const, Math.sqrt(2 / 200)],
    ['gaussian', { scheme: 'gaussian', std: 0.3 } as const, 0.3],
  ])('%s: empirical std of a 300×200 matrix within 2%% of the formula', (_, init, expected) => {
    const [w] = layers({ network: { kind: 'linear', depth: 1, inputDim: 200, outputDim: 300, init } });
    // 60,000 draws: the std's relative standard error is 1/√(2·60000) ≈ 0.3%.
    expect(Math.abs(std(w.w) / expected - 1)).toBeLessThan(0.02);
  });

  it.each([
    [4, 4],
    [6, 3],
    [3, 6],
  ])('orthogonal %i×%i: QᵀQ = I or QQᵀ = I (1e-12), sign-corrected QR of the Gaussian draw', (rows, cols) => {
    const gain = 1.7;
    const q = orthogonal(rows, cols, gain, new Rng(9));
    const tall = rows >= cols;
    const p = tall ? cols : rows;
    for (let i = 0; i < p; i++)
      for (let j = 0; j < p; j++) {
        let s = 0;
        if (tall) for (let r = 0; r < rows; r++) s += q[r * cols + i] * q[r * cols + j];
        else for (let c = 0; c < cols; c++) s += q[i * cols + c] * q[j * cols + c];
        expect(Math.abs(s / gain ** 2 - (i === j ? 1 : 0))).toBeLessThan(1e-12);
      }
    // torch.nn.init.orthogonal_ makes diag(R) positive in A = QR: R = QᵀA is upper triangular with
    // a positive diagonal (on the transposed problem when wide).
    const rng = new Rng(9);
    const a = Float64Array.from({ length: rows * cols }, () => rng.normal());
    const at = (i: number, j: number) => (tall ? a[i * cols + j] : a[j * cols + i]);
    const qt = (i: number, j: number) => (tall ? q[i * cols + j] : q[j * cols + i]) / gain;
    const m = tall ? rows : cols;
    for (let i = 0; i < p; i++)
      for (let j = 0; j < p; j++) {
        let r = 0;
        for (let k = 0; k < m; k++) r += qt(k, i) * at(k, j);
        if (i === j) expect(r).toBeGreaterThan(0);
        if (i > j) expect(Math.abs(r)).toBeLessThan(1e-12);
      }
  });

  it('rnn random schemes use each matrix’s own fan-in: he std √(2/fanIn)', () => {
    const p = initParams(
      parse({ network: { kind: 'rnn', hidden: 200, inputDim: 50, outputDim: 100, init: { scheme: 'he', gain: 1 } } }),
    );
    if (p.kind !== 'rnn') throw new Error('expected rnn');
    expect(Math.abs(std(p.inputWeights.w) / Math.sqrt(2 / 50) - 1)).toBeLessThan(0.03);
    expect(Math.abs(std(p.recurrentWeights.w) / Math.sqrt(2 / 200) - 1)).toBeLessThan(0.03);
    expect(Math.abs(std(p.outputWeights.w) / Math.sqrt(2 / 200) - 1)).toBeLessThan(0.03);
    expect(Array.from(p.recurrentWeights.b!).every((x) => x === 0)).toBe(true);
  });

  it('explicit weights and biases are taken as given', () => {
    const [w1, w2] = layers({
      network: {
        kind: 'linear',
        depth: 2,
        width: 2,
        inputDim: 1,
        outputDim: 1,
        bias: true,
        init: { scheme: 'explicit', weights: [[[1], [2]], [[3, 4]]], biases: [[5, 6], [7]] },
      },
    });
    expect([Array.from(w1.w), Array.from(w1.b!), Array.from(w2.w), Array.from(w2.b!)]).toEqual([
      [1, 2],
      [5, 6],
      [3, 4],
      [7],
    ]);
    expect([w1.rows, w1.cols, w2.rows, w2.cols]).toEqual([2, 1, 1, 2]);
  });

  it('the same seed draws the same weights; another seed others', () => {
    const net = { kind: 'mlp', depth: 2, width: 4, init: { scheme: 'orthogonal', gain: 1 } } as const;
    const a = layers({ seed: 1, network: net });
    expect(layers({ seed: 1, network: net })).toEqual(a);
    expect(layers({ seed: 2, network: net })[0].w).not.toEqual(a[0].w);
  });
});
