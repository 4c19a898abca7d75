// Synthetic data, input normalization and minibatch order (docs/engine.md "Synthetic data").
import { describe, expect, it } from 'vitest';
import { Batcher, buildDataset, standardizeInputs } from '../../src/engine/data.js';
import { resolveShape } from '../../src/engine/shape.js';
import { parse } from './helpers.js';

function dataset(input: Parameters<typeof parse>[0]) {
  const spec = parse(input);
  return buildDataset(spec, resolveShape(spec));
}

/** Least-squares fit of y on the columns of x (normal equations, tiny d): the residual sum of squares. */
function residual(x: number[][], y: number[]): number {
  const d = x[0].length;
  const a = Array.from({ length: d }, (_, i) =>
    Array.from({ length: d }, (_, j) => x.reduce((s, r) => s + r[i] * r[j], 0)),
  );
  const b = Array.from({ length: d }, (_, i) => x.reduce((s, r, k) => s + r[i] * y[k], 0));
  // Gaussian elimination without pivoting: a is a well-conditioned Gram matrix here.
  for (let i = 0; i < d; i++)
    for (let j = i + 1; j < d; j++) {
      const f = a[j][i] / a[i][i];
      for (let k = i; k < d; k++) a[j][k] -= f * a[i][k];
      b[j] -= f * b[i];
    }
  const w = new Array(d).fill(0);
  for (let i = d - 1; i >= 0; i--) {
    let s = b[i];
    for (let k = i + 1; k < d; k++) s -= a[i][k] * w[k];
    w[i] = s / a[i][i];
  }
  return x.reduce((s, r, k) => s + (r.reduce((t, v, i) => t + v * w[i], 0) - y[k]) ** 2, 0);
}

describe('synthetic data', () => {
  it('feature j has scale featureScales[j]; the targets are a linear function of the standardized features', () => {
    const ds = dataset({
      network: { kind: 'linear', depth: 1, inputDim: 3, outputDim: 1 },
      data: { kind: 'synthetic', samples: 4000, featureScales: [1, 1000, 0.01], noise: 0 },
    });
    for (const [j, scale] of [1, 1000, 0.01].entries()) {
      let s = 0;
      for (let i = 0; i < ds.n; i++) s += ds.x[i * 3 + j] ** 2;
      // 4000 draws: the rms's relative standard error is about 1/√8000 ≈ 1.1%.
      expect(Math.abs(Math.sqrt(s / ds.n) / scale - 1)).toBeLessThan(0.05);
    }
    const rows = Array.from({ length: ds.n }, (_, i) => Array.from(ds.x.subarray(i * 3, i * 3 + 3)));
    const y = Array.from(ds.y);
    const total = y.reduce((s, v) => s + v * v, 0);
    expect(residual(rows, y) / total).toBeLessThan(1e-20);
  });

  it('noise adds N(0, noise²) to the targets', () => {
    const ds = dataset({
      network: { kind: 'linear', depth: 1, inputDim: 2, outputDim: 1 },
      data: { kind: 'synthetic', samples: 4000, noise: 0.5 },
    });
    const rows = Array.from({ length: ds.n }, (_, i) => Array.from(ds.x.subarray(i * 2, i * 2 + 2)));
    const rss = residual(rows, Array.from(ds.y));
    expect(Math.abs(Math.sqrt(rss / ds.n) / 0.5 - 1)).toBeLessThan(0.05);
  });

  it('rnn: the target depends on the first time step only', () => {
    const T = 6;
    const ds = dataset({
      network: { kind: 'rnn', seqLength: T, inputDim: 2, outputDim: 1 },
      data: { kind: 'synthetic', samples: 500, noise: 0 },
    });
    const step = (t: number) =>
      Array.from({ length: ds.n }, (_, i) => Array.from(ds.x.subarray((i * T + t) * 2, (i * T + t) * 2 + 2)));
    const y = Array.from(ds.y);
    const total = y.reduce((s, v) => s + v * v, 0);
    expect(residual(step(0), y) / total).toBeLessThan(1e-20);
    // At any later step the inputs are independent of y: a fit explains almost nothing.
    expect(residual(step(T - 1), y) / total).toBeGreaterThan(0.9);
  });

  it('explicit data is taken as given', () => {
    const ds = dataset({
      network: { kind: 'rnn', seqLength: 2, inputDim: 1, outputDim: 1 },
      data: {
        kind: 'explicit',
        inputs: [
          [[1], [2]],
          [[3], [4]],
        ],
        targets: [[5], [6]],
      },
    });
    expect(Array.from(ds.x)).toEqual([1, 2, 3, 4]);
    expect(Array.from(ds.y)).toEqual([5, 6]);
  });
});

describe('input normalization', () => {
  it('standardizes every feature to mean 0 and biased std 1 (rnn: over samples and time)', () => {
    const ds = dataset({
      network: { kind: 'rnn', seqLength: 5, inputDim: 2, outputDim: 1 },
      data: { kind: 'synthetic', samples: 50, featureScales: [1e4, 1e-3] },
    });
    standardizeInputs(ds);
    const rows = ds.x.length / 2;
    for (let j = 0; j < 2; j++) {
      let m = 0;
      let v = 0;
      for (let r = 0; r < rows; r++) m += ds.x[r * 2 + j] / rows;
      for (let r = 0; r < rows; r++) v += (ds.x[r * 2 + j] - m) ** 2 / rows;
      expect(Math.abs(m)).toBeLessThan(1e-14);
      expect(Math.abs(v - 1)).toBeLessThan(1e-14);
    }
  });

  it('a constant feature is only centred', () => {
    const ds = dataset({
      network: { kind: 'linear', depth: 1, inputDim: 1, outputDim: 1 },
      data: { kind: 'explicit', inputs: [[3], [3]], targets: [[0], [1]] },
    });
    standardizeInputs(ds);
    expect(Array.from(ds.x)).toEqual([0, 0]);
  });
});

describe('minibatches', () => {
  it('each epoch visits every sample once in a seeded order; the tail is dropped', () => {
    const b = new Batcher(10, 3, 42);
    const idx = new Int32Array(3);
    const epoch: number[] = [];
    for (let i = 0; i < 3; i++) {
      b.next(idx);
      epoch.push(...idx);
    }
    expect(new Set(epoch).size).toBe(9);
    b.next(idx);
    // A new permutation starts: the fourth batch has distinct samples too.
    expect(new Set(idx).size).toBe(3);
    const again = new Batcher(10, 3, 42);
    const first = new Int32Array(3);
    again.next(first);
    expect(Array.from(first)).toEqual(epoch.slice(0, 3));
  });

  it('batchSize ≥ samples is the whole data set, in order, every step', () => {
    const b = new Batcher(4, 32, 1);
    const idx = new Int32Array(4);
    b.next(idx);
    expect(b.batch).toBe(4);
    expect(Array.from(idx)).toEqual([0, 1, 2, 3]);
  });
});
