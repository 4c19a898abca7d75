import { describe, expect, it } from 'vitest';
import type { AnalysisResult } from '../../src/contract/analysis.js';
import { AnalysisRequest, AnalysisResult as AnalysisResultSchema } from '../../src/contract/analysis.js';
import { decodeNum, type Num } from '../../src/contract/events.js';
import { Network } from '../../src/contract/spec.js';
import {
  AnalysisRefusedError,
  analyze,
  analyzeParams,
  checkAnalysis,
  checkAnalysisBudget,
} from '../../src/engine/analysis/index.js';
import { fromDense, singularValues, spectralRadius } from '../../src/engine/analysis/linalg.js';
import { gaussianExpectation, meanField } from '../../src/engine/analysis/meanfield.js';
import type { DenseParams, InitialParams } from '../../src/engine/types.js';

function dense(rows: number, cols: number, entries: number[][]): DenseParams {
  const w = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) w[i * cols + j] = entries[i][j];
  return { rows, cols, w, b: null };
}

function scaledIdentity(n: number, gain: number): DenseParams {
  const w = new Float64Array(n * n);
  for (let i = 0; i < n; i++) w[i * n + i] = gain;
  return { rows: n, cols: n, w, b: null };
}

/** Orthogonal n×n (n even): block-diagonal 2×2 rotations by different angles. */
function rotations(n: number): number[][] {
  const q = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let b = 0; b < n / 2; b++) {
    const t = 0.3 + 0.7 * b;
    q[2 * b][2 * b] = Math.cos(t);
    q[2 * b][2 * b + 1] = -Math.sin(t);
    q[2 * b + 1][2 * b] = Math.sin(t);
    q[2 * b + 1][2 * b + 1] = Math.cos(t);
  }
  return q;
}

const scale = (m: number[][], s: number) => m.map((r) => r.map((v) => v * s));
const matmul = (a: number[][], b: number[][]) =>
  a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));

function textbook(gain: number): AnalysisResult {
  const network = Network.parse({ kind: 'linear', depth: 10, width: 2, init: { scheme: 'scaled-identity', gain } });
  const params: InitialParams = { kind: 'layered', layers: Array.from({ length: 10 }, () => scaledIdentity(2, gain)) };
  return analyzeParams(network, params);
}

const n = (x: Num | null | undefined) => decodeNum(x as Num);
const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('textbook deep linear network (docs/design.md "What it reproduces")', () => {
  it('gain 1.5, L = 10: the product is exactly 1.5^10·I = 57.6650390625·I', () => {
    const r = textbook(1.5);
    expect(r.product?.matrix).toEqual([
      [57.6650390625, 0],
      [0, 57.6650390625],
    ]);
    expect(r.product?.matrix[0][0]).toBe(57.6650390625);
    expect(r.product?.matrix[1][1]).toBe(57.6650390625);
    expect(r.scaledIdentity).toEqual({
      gain: 1.5,
      depth: 10,
      forwardGain: 57.6650390625,
      layerGradFactor: 38.443359375,
    });
    // Singular values and eigenvalues of c·I are c; ml-matrix's SVD/EVD may round in the last bits.
    for (const s of r.product?.singularValues ?? []) expect(rel(n(s), 57.6650390625)).toBeLessThan(1e-14);
    expect(rel(n(r.product?.spectralRadius), 57.6650390625)).toBeLessThan(1e-14);
    expect(AnalysisResultSchema.safeParse(r).success).toBe(true);
  });

  it('gain 0.5, L = 10: the product is exactly 0.5^10·I = 0.0009765625·I', () => {
    const r = textbook(0.5);
    expect(r.product?.matrix).toEqual([
      [0.0009765625, 0],
      [0, 0.0009765625],
    ]);
    expect(r.scaledIdentity?.forwardGain).toBe(0.0009765625);
    expect(r.scaledIdentity?.layerGradFactor).toBe(0.001953125);
  });

  it('every partial product of gain·I has spectral norm gain^k (closed form), per-layer σ = gain', () => {
    const r = textbook(1.5);
    expect(r.products.map((p) => p.k)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for (const p of r.products) {
      expect(rel(n(p.spectralNorm), 1.5 ** p.k)).toBeLessThan(1e-14);
      expect(Math.abs(n(p.log10SpectralNorm) - p.k * Math.log10(1.5))).toBeLessThan(1e-12);
    }
    for (const l of r.layers) {
      expect(rel(n(l.sigmaMax), 1.5)).toBeLessThan(1e-15);
      expect(rel(n(l.sigmaMin), 1.5)).toBeLessThan(1e-15);
      expect(rel(n(l.frobenius), 1.5 * Math.SQRT2)).toBeLessThan(1e-15);
    }
  });

  it('gain 1.1 at width 4 and depth 60: ‖P_k‖₂ = 1.1^k to 1e-13', () => {
    const network = Network.parse({
      kind: 'linear',
      depth: 60,
      width: 4,
      init: { scheme: 'scaled-identity', gain: 1.1 },
    });
    const r = analyzeParams(network, {
      kind: 'layered',
      layers: Array.from({ length: 60 }, () => scaledIdentity(4, 1.1)),
    });
    for (const p of r.products) expect(rel(n(p.spectralNorm), 1.1 ** p.k)).toBeLessThan(1e-13);
  });

  it('norms past float64 are reported as "Infinity" (or 0), with a finite log10', () => {
    const network = Network.parse({
      kind: 'linear',
      depth: 400,
      width: 2,
      init: { scheme: 'scaled-identity', gain: 10 },
    });
    const up = analyzeParams(network, {
      kind: 'layered',
      layers: Array.from({ length: 400 }, () => scaledIdentity(2, 10)),
    });
    expect(up.products[399].spectralNorm).toBe('Infinity');
    expect(Math.abs(n(up.products[399].log10SpectralNorm) - 400)).toBeLessThan(1e-9);
    expect(rel(n(up.products[299].spectralNorm), 1e300)).toBeLessThan(1e-12);
    expect(up.product?.matrix).toEqual([
      ['Infinity', 0],
      [0, 'Infinity'],
    ]);
    expect(up.scaledIdentity?.forwardGain).toBe('Infinity');
    expect(AnalysisResultSchema.safeParse(JSON.parse(JSON.stringify(up))).success).toBe(true);

    const down = analyzeParams(
      { ...network, init: { scheme: 'scaled-identity', gain: 0.1 } },
      { kind: 'layered', layers: Array.from({ length: 400 }, () => scaledIdentity(2, 0.1)) },
    );
    expect(down.products[399].spectralNorm).toBe(0);
    expect(Math.abs(n(down.products[399].log10SpectralNorm) + 400)).toBeLessThan(1e-9);
  });
});

describe('singular values and spectral radius against closed forms', () => {
  it('diagonal: the sorted absolute diagonal', () => {
    const s = singularValues(
      fromDense(
        dense(3, 3, [
          [3, 0, 0],
          [0, -2, 0],
          [0, 0, 0.5],
        ]),
      ),
    );
    expect(s).toHaveLength(3);
    expect(s[0]).toBeCloseTo(3, 14);
    expect(s[1]).toBeCloseTo(2, 14);
    expect(s[2]).toBeCloseTo(0.5, 14);
  });

  it('rotation·diag(4, 0.25): singular values 4 and 0.25, spectral radius from the 2×2 characteristic polynomial', () => {
    const t = 0.7;
    const m = matmul(
      [
        [Math.cos(t), -Math.sin(t)],
        [Math.sin(t), Math.cos(t)],
      ],
      [
        [4, 0],
        [0, 0.25],
      ],
    );
    const a = fromDense(dense(2, 2, m));
    const s = singularValues(a);
    expect(rel(s[0], 4)).toBeLessThan(1e-14);
    expect(rel(s[1], 0.25)).toBeLessThan(1e-14);
    // Eigenvalues of [[a, b], [c, d]]: (tr ± √(tr² − 4 det))/2; det = 1 here, tr = 4.25·cos t.
    const tr = m[0][0] + m[1][1];
    const det = m[0][0] * m[1][1] - m[0][1] * m[1][0];
    const disc = tr * tr - 4 * det;
    const radius = disc >= 0 ? (Math.abs(tr) + Math.sqrt(disc)) / 2 : Math.sqrt(det);
    expect(rel(spectralRadius(a), radius)).toBeLessThan(1e-13);
  });

  it('rectangular 2×3: min(rows, cols) singular values; layers report σ_max, σ_min and ‖·‖_F', () => {
    const network = Network.parse({
      kind: 'linear',
      depth: 2,
      width: 2,
      inputDim: 3,
      outputDim: 2,
      init: { scheme: 'explicit', weights: [[[0, 0, 0]], [[0]]] },
    });
    const w1 = dense(2, 3, [
      [1, 0, 0],
      [0, 2, 0],
    ]);
    const w2 = dense(2, 2, [
      [0, 1],
      [1, 0],
    ]);
    const r = analyzeParams(network, { kind: 'layered', layers: [w1, w2] });
    expect(r.layers[0]).toMatchObject({ name: 'W1', shape: [2, 3] });
    expect(n(r.layers[0].sigmaMax)).toBeCloseTo(2, 14);
    expect(n(r.layers[0].sigmaMin)).toBeCloseTo(1, 14);
    expect(n(r.layers[0].frobenius)).toBeCloseTo(Math.sqrt(5), 14);
    // W2·W1 swaps the rows: [[0, 2, 0], [1, 0, 0]], exactly; not square, so no spectral radius.
    expect(r.product?.matrix).toEqual([
      [0, 2, 0],
      [1, 0, 0],
    ]);
    expect(r.product?.spectralRadius).toBeNull();
  });
});

describe('rnn: Pascanu et al. 2013 conditions on W_hh', () => {
  const rnn = (lambda: number, T = 50, recurrent?: number[][]) => {
    const h = recurrent?.length ?? 4;
    const network = Network.parse({ kind: 'rnn', hidden: h, seqLength: T, inputDim: 1, outputDim: 1 });
    const whh = recurrent ?? scale(rotations(4), lambda);
    return analyzeParams(network, {
      kind: 'rnn',
      inputWeights: dense(
        h,
        1,
        Array.from({ length: h }, () => [1]),
      ),
      recurrentWeights: dense(h, h, whh),
      outputWeights: dense(1, h, [new Array(h).fill(1)]),
    });
  };

  it('λ·(orthogonal): λ₁ = spectral radius = λ to 1e-12; ‖W_hh^k‖ = λ^k', () => {
    for (const lambda of [0.9, 1.1]) {
      const r = rnn(lambda);
      expect(Math.abs(n(r.recurrent?.lambda1) - lambda)).toBeLessThan(1e-12);
      expect(Math.abs(n(r.recurrent?.spectralRadius) - lambda)).toBeLessThan(1e-12);
      expect(r.recurrent?.powers).toHaveLength(49);
      for (const [i, p] of (r.recurrent?.powers ?? []).entries())
        expect(rel(n(p), lambda ** (i + 1))).toBeLessThan(1e-12);
      expect(rel(n(r.recurrent?.jacobianBound), lambda ** 49)).toBeLessThan(1e-12);
      expect(r.layers.map((l) => l.name)).toEqual(['W_xh', 'W_hh', 'W_hy']);
    }
  });

  it('flags vanishing (λ₁ < 1, sufficient) and exploding (λ₁ > 1, necessary)', () => {
    expect(rnn(0.9).recurrent?.condition).toBe('vanishing-guaranteed');
    expect(rnn(1.1).recurrent?.condition).toBe('exploding-possible');
    expect(rnn(1).recurrent?.condition).toBe('boundary');
    expect(rnn(1.1).recurrent?.gamma).toBe(1);
  });

  it('a non-normal W_hh: spectral radius 0.5 but λ₁ = (b + √(b² + 4a²))/2 > 1, so exploding is possible', () => {
    const a = 0.5;
    const b = 10;
    const r = rnn(0, 20, [
      [a, b],
      [0, a],
    ]);
    expect(rel(n(r.recurrent?.spectralRadius), a)).toBeLessThan(1e-12);
    expect(rel(n(r.recurrent?.lambda1), (b + Math.sqrt(b * b + 4 * a * a)) / 2)).toBeLessThan(1e-12);
    expect(r.recurrent?.condition).toBe('exploding-possible');
    // ‖W^k‖ for W = aI + bN (N² = 0): W^k = a^k I + k a^(k−1) b N, whose norm decays eventually.
    const p19 = n(r.recurrent?.powers?.[18]);
    const c = 19 * a ** 18 * b;
    expect(rel(p19, (c + Math.sqrt(c * c + 4 * a ** 38)) / 2)).toBeLessThan(1e-10);
  });
});

describe('mean field (Schoenholz et al. 2017)', () => {
  it('Gaussian expectations: E[z^2k] = (2k−1)!! for k ≤ 10 (rel 1e-12), odd moments 0, E[1(z>0)] = 1/2', () => {
    let dfact = 1;
    for (let k = 1; k <= 10; k++) {
      dfact *= 2 * k - 1;
      expect(
        rel(
          gaussianExpectation((z) => z ** (2 * k)),
          dfact,
        ),
      ).toBeLessThan(1e-12);
      expect(Math.abs(gaussianExpectation((z) => z ** (2 * k - 1)))).toBeLessThan(1e-12 * dfact);
    }
    expect(Math.abs(gaussianExpectation(() => 1) - 1)).toBeLessThan(1e-14);
    expect(Math.abs(gaussianExpectation((z) => (z > 0 ? 1 : 0)) - 0.5)).toBeLessThan(1e-14);
    // E[z²] under the scaling used at large q: E[(s·z)²] = s².
    expect(
      rel(
        gaussianExpectation((x) => x * x, 30),
        900,
      ),
    ).toBeLessThan(1e-12);
  });

  it('tanh, σ_b = 0, σ_w ∈ {0.5, 0.9}: q* = 0 and χ₁ = σ_w² (iterated, 1e-6), as the closed form says', () => {
    for (const sw of [0.5, 0.9]) {
      const iterated = meanField('tanh', sw * sw, 0, { closedForm: false });
      expect(iterated.iterations).toBeGreaterThan(10);
      expect(iterated.qStar).toBeLessThan(1e-12);
      expect(Math.abs(iterated.chi1 - sw * sw)).toBeLessThan(1e-6);
      expect(iterated.phase).toBe('ordered');
      const closed = meanField('tanh', sw * sw);
      expect(closed.chi1).toBe(sw * sw);
      expect(Math.abs(closed.depthScale - -1 / Math.log(sw * sw))).toBeLessThan(1e-12);
    }
  });

  it('relu: χ₁ = σ_w²/2 whatever q*, critical at σ_w² = 2 (iterated and closed form)', () => {
    for (const sw2 of [1, 2, 3]) {
      for (const closedForm of [true, false]) {
        const mf = meanField('relu', sw2, 0, { closedForm });
        expect(Math.abs(mf.chi1 - sw2 / 2)).toBeLessThan(1e-12);
      }
    }
    expect(meanField('relu', 2).phase).toBe('critical');
    expect(meanField('relu', 2).depthScale).toBe(Number.POSITIVE_INFINITY);
    expect(meanField('relu', 3, 0, { closedForm: false }).qStar).toBe(Number.POSITIVE_INFINITY);
    expect(meanField('relu', 3).phase).toBe('chaotic');
    expect(meanField('identity', 0.64).chi1).toBe(0.64);
    expect(meanField('tanh', Number.POSITIVE_INFINITY)).toMatchObject({
      chi1: Number.POSITIVE_INFINITY,
      phase: 'chaotic',
    });
  });

  it('chaotic tanh (σ_w = 2, σ_b = 0): q* > 0, χ₁ > 1, matching trapezoid quadrature (1e-9) and Monte Carlo (1e-2)', () => {
    const mf = meanField('tanh', 4);
    expect(mf.phase).toBe('chaotic');
    expect(mf.qStar as number).toBeGreaterThan(0.5);
    expect(mf.chi1).toBeGreaterThan(1);
    expect(mf.depthScale).toBe(-1 / Math.log(mf.chi1));

    // An independent quadrature: the trapezoid rule on [−12, 12] with h = 1e-3 converges
    // geometrically for smooth, Gaussian-decaying integrands.
    const trap = (f: (z: number) => number) => {
      const h = 1e-3;
      let s = 0;
      for (let i = -12_000; i <= 12_000; i++) {
        const z = i * h;
        s += f(z) * Math.exp((-z * z) / 2);
      }
      return (s * h) / Math.sqrt(2 * Math.PI);
    };
    let q = 1;
    for (let it = 0; it < 100; it++) q = 4 * trap((z) => Math.tanh(Math.sqrt(q) * z) ** 2);
    const chi1 = 4 * trap((z) => (1 - Math.tanh(Math.sqrt(q) * z) ** 2) ** 2);
    expect(Math.abs(mf.qStar - q)).toBeLessThan(1e-9);
    expect(Math.abs(mf.chi1 - chi1)).toBeLessThan(1e-9);

    // Monte Carlo with 200,000 seeded normal draws: standard error ≈ 4·0.3/√2e5 ≈ 3e-3.
    let seed = 12345;
    const uniform = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    let sq = 0;
    let sd = 0;
    const N = 200_000;
    const s = Math.sqrt(mf.qStar);
    for (let i = 0; i < N; i++) {
      const z = Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
      const t = Math.tanh(s * z);
      sq += t * t;
      sd += (1 - t * t) ** 2;
    }
    expect(Math.abs((4 * sq) / N - mf.qStar)).toBeLessThan(1e-2);
    expect(Math.abs((4 * sd) / N - mf.chi1)).toBeLessThan(1e-2);
  });

  it('from a network: σ_w² follows the init scheme (xavier gain², he 2·gain², gaussian width·std²)', () => {
    const cases = [
      { init: { scheme: 'xavier', gain: 1 }, activation: 'tanh', sigmaW2: 1, phase: 'critical' },
      { init: { scheme: 'he', gain: 1 }, activation: 'relu', sigmaW2: 2, phase: 'critical' },
      { init: { scheme: 'gaussian', std: 0.25 }, activation: 'tanh', sigmaW2: 1, phase: 'critical' },
      { init: { scheme: 'gaussian', std: 0.1 }, activation: 'relu', sigmaW2: 0.16, phase: 'ordered' },
      { init: { scheme: 'orthogonal', gain: 2 }, activation: 'tanh', sigmaW2: 4, phase: 'chaotic' },
    ] as const;
    for (const c of cases) {
      const network = Network.parse({ kind: 'mlp', depth: 3, width: 16, activation: c.activation, init: c.init });
      const layers = Array.from({ length: 3 }, () => scaledIdentity(16, 0.5));
      const r = analyzeParams(network, { kind: 'layered', layers });
      expect(r.meanField?.sigmaW2).toBeCloseTo(c.sigmaW2, 14);
      expect(r.meanField?.phase).toBe(c.phase);
    }
    const si = Network.parse({ kind: 'mlp', depth: 2, width: 2, init: { scheme: 'scaled-identity', gain: 1 } });
    expect(
      analyzeParams(si, { kind: 'layered', layers: [scaledIdentity(2, 1), scaledIdentity(2, 1)] }).meanField,
    ).toBeNull();
  });
});

describe('work budget', () => {
  it('refuses networks whose analysis would block for seconds, naming the field', () => {
    expect(checkAnalysisBudget(Network.parse({ kind: 'linear', depth: 10, width: 2 }))).toEqual([]);
    expect(checkAnalysisBudget(Network.parse({ kind: 'mlp', depth: 8, width: 128 }))).toEqual([]);
    const big = checkAnalysisBudget(Network.parse({ kind: 'mlp', depth: 500, width: 2048 }));
    expect(big).toHaveLength(1);
    expect(big[0].path).toEqual(['network', 'width']);
    expect(big[0].message).toMatch(/budget/);
    expect(checkAnalysisBudget(Network.parse({ kind: 'rnn', hidden: 1024 }))[0].path).toEqual(['network', 'hidden']);
  });
});

describe('analyze: the weights initParams draws for the request', () => {
  it('the textbook request returns 57.6650390625·I exactly, and validates as an AnalysisResult', () => {
    const request = AnalysisRequest.parse({
      network: { kind: 'linear', depth: 10, width: 2, init: { scheme: 'scaled-identity', gain: 1.5 } },
    });
    expect(request.seed).toBe(0);
    const r = analyze(request);
    expect(r.product?.matrix).toEqual([
      [57.6650390625, 0],
      [0, 57.6650390625],
    ]);
    expect(AnalysisResultSchema.parse(JSON.parse(JSON.stringify(r)))).toEqual(r);
  });

  it('rnn with orthogonal init of gain λ: λ₁ = λ to 1e-12 and the matching Pascanu condition', () => {
    for (const [gain, condition] of [
      [0.8, 'vanishing-guaranteed'],
      [1.25, 'exploding-possible'],
    ] as const) {
      const r = analyze(
        AnalysisRequest.parse({
          network: { kind: 'rnn', hidden: 32, seqLength: 30, init: { scheme: 'orthogonal', gain } },
          seed: 7,
        }),
      );
      expect(Math.abs(n(r.recurrent?.lambda1) - gain)).toBeLessThan(1e-12);
      expect(Math.abs(n(r.recurrent?.spectralRadius) - gain)).toBeLessThan(1e-12);
      expect(r.recurrent?.condition).toBe(condition);
      for (const [i, p] of (r.recurrent?.powers ?? []).entries())
        expect(rel(n(p), gain ** (i + 1))).toBeLessThan(1e-11);
    }
  });

  it('the σ_w² of the actual draw matches the scheme: he 2·gain² (sampling error, 5%), orthogonal gain² (1e-12)', () => {
    const he = analyze(
      AnalysisRequest.parse({
        network: { kind: 'mlp', depth: 4, width: 128, activation: 'relu', init: { scheme: 'he', gain: 1 } },
      }),
    );
    // 2 square layers of 128²: the mean of 32768 squared normals has relative std √(2/32768) ≈ 0.8%.
    expect(Math.abs(n(he.meanField?.empiricalSigmaW2) / 2 - 1)).toBeLessThan(0.05);
    const orth = analyze(
      AnalysisRequest.parse({
        network: { kind: 'mlp', depth: 3, width: 32, init: { scheme: 'orthogonal', gain: 1.5 } },
      }),
    );
    expect(Math.abs(n(orth.meanField?.empiricalSigmaW2) - 2.25)).toBeLessThan(1e-12);
    expect(orth.meanField?.sigmaW2).toBe(2.25);
  });

  it('the same request and seed give identical results; another seed, other weights', () => {
    const req = (seed: number) =>
      AnalysisRequest.parse({ network: { kind: 'mlp', depth: 4, width: 8, init: { scheme: 'he', gain: 1 } }, seed });
    expect(JSON.stringify(analyze(req(3)))).toBe(JSON.stringify(analyze(req(3))));
    expect(analyze(req(3)).layers[1].sigmaMax).not.toBe(analyze(req(4)).layers[1].sigmaMax);
  });

  it('refuses explicit weights that do not chain, naming the field; the schema rejects unknown keys', () => {
    const request = AnalysisRequest.parse({
      network: {
        kind: 'linear',
        depth: 2,
        width: 2,
        init: {
          scheme: 'explicit',
          weights: [
            [
              [1, 0],
              [0, 1],
            ],
            [[1, 0, 0]],
          ],
        },
      },
    });
    const issues = checkAnalysis(request);
    expect(issues[0].path).toEqual(['network', 'init', 'weights', 1]);
    expect(() => analyze(request)).toThrow(AnalysisRefusedError);
    const bad = AnalysisRequest.safeParse({ network: { kind: 'linear', depth: 2 }, seeds: 1 });
    expect(bad.success).toBe(false);
  });
});
