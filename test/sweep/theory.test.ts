import { describe, expect, it } from 'vitest';
import { JobSpec, type JobSpecInput } from '../../src/contract/spec.js';
import { SweepRequest } from '../../src/contract/sweep.js';
import { initParams } from '../../src/engine/index.js';
import { predictCell, sigmaW2, theoryLines } from '../../src/runtime/sweep/theory.js';

const mlp = (activation: string, init: object, width = 64): JobSpecInput['network'] =>
  ({ kind: 'mlp', depth: 10, width, activation, init }) as JobSpecInput['network'];

const spec = (network: JobSpecInput['network'], seed = 0) => JobSpec.parse({ seed, network });

/** λ₁ = √(largest eigenvalue of WᵀW) by power iteration (converges geometrically; 2000 rounds is ample here). */
function largestSingularValue(w: Float64Array, n: number): number {
  let v = new Float64Array(n).fill(1 / Math.sqrt(n));
  let sigma = 0;
  for (let it = 0; it < 2000; it++) {
    const u = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) u[i] += w[i * n + j] * v[j];
    const z = new Float64Array(n);
    for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) z[j] += w[i * n + j] * u[i];
    const norm = Math.hypot(...z);
    sigma = Math.sqrt(norm);
    v = z.map((x) => x / norm);
  }
  return sigma;
}

describe('σ_w² of a hidden layer from the init scheme', () => {
  it('follows each scheme’s variance on a square layer', () => {
    expect(sigmaW2({ scheme: 'gaussian', std: 0.125 }, 64)).toBeCloseTo(1, 14);
    expect(sigmaW2({ scheme: 'xavier', gain: 1.5 }, 64)).toBeCloseTo(2.25, 14);
    expect(sigmaW2({ scheme: 'he', gain: 1 }, 64)).toBeCloseTo(2, 14);
    expect(sigmaW2({ scheme: 'orthogonal', gain: 0.5 }, 64)).toBeCloseTo(0.25, 14);
    expect(sigmaW2({ scheme: 'scaled-identity', gain: 2 }, 64)).toBeNull();
  });
});

describe('predictions', () => {
  it('mlp: χ₁ = σ_w² for tanh at σ_w ≤ 1 and σ_w²/2 for relu (Schoenholz et al. 2017; Poole et al. 2016), ξ = −1/ln χ₁', () => {
    const t = predictCell(spec(mlp('tanh', { scheme: 'xavier', gain: 0.8 })));
    expect(t.chi1 as number).toBeCloseTo(0.64, 12);
    expect(t.depthScale as number).toBeCloseTo(-1 / Math.log(0.64), 10);
    const r = predictCell(spec(mlp('relu', { scheme: 'gaussian', std: 0.1 }, 100)));
    expect(r.chi1 as number).toBeCloseTo(0.5, 12);
    expect(predictCell(spec(mlp('relu', { scheme: 'he', gain: 1 }))).depthScale).toBe('Infinity');
    expect(predictCell(spec(mlp('tanh', { scheme: 'scaled-identity', gain: 1 })))).toEqual({
      layerGradFactor: null,
      chi1: null,
      depthScale: null,
      lambda1: null,
      backwardGainBound: null,
    });
  });

  it('linear scaled identity: gain^(L−1), exactly', () => {
    const p = predictCell(
      spec({ kind: 'linear', depth: 10, width: 2, init: { scheme: 'scaled-identity', gain: 1.5 } }),
    );
    expect(p.layerGradFactor).toBe(38.443359375);
  });

  it('rnn with a Gaussian W_hh: λ₁ of the very matrix the run starts from (power iteration, 1e-6), bound λ₁^(T−1)', () => {
    const s = spec({ kind: 'rnn', hidden: 16, seqLength: 30, init: { scheme: 'gaussian', std: 0.3 } }, 11);
    const p = predictCell(s);
    const params = initParams(s);
    if (params.kind !== 'rnn') throw new Error('expected rnn params');
    const lambda = largestSingularValue(params.recurrentWeights.w, 16);
    expect(Math.abs((p.lambda1 as number) / lambda - 1)).toBeLessThan(1e-6);
    expect((p.backwardGainBound as number) / (p.lambda1 as number) ** 29).toBeCloseTo(1, 12);
  });
});

describe('theory lines', () => {
  const base = (network: JobSpecInput['network']) => ({ base: { network }, axes: [] as unknown[] });
  const line = (network: JobSpecInput['network'], path: string) =>
    theoryLines(SweepRequest.parse({ ...base(network), axes: [{ path, values: [1] }] }));

  it('put χ₁ = 1 in the axis’s own units', () => {
    expect(line(mlp('tanh', { scheme: 'xavier', gain: 1 }), 'network.init.gain')[0].value).toBe(1);
    expect(line(mlp('relu', { scheme: 'xavier', gain: 1 }), 'network.init.gain')[0].value).toBe(Math.SQRT2);
    expect(line(mlp('relu', { scheme: 'he', gain: 1 }), 'network.init.gain')[0].value).toBeCloseTo(1, 15);
    expect(line(mlp('tanh', { scheme: 'gaussian', std: 0.1 }), 'network.init.std')[0].value).toBe(0.125);
    expect(line(mlp('sigmoid', { scheme: 'xavier', gain: 1 }), 'network.init.gain')).toEqual([]);
  });

  it('put the boundary at 1 for scaled-identity linear nets and orthogonal rnns, nowhere on other axes', () => {
    expect(
      line({ kind: 'linear', depth: 3, init: { scheme: 'scaled-identity', gain: 1 } }, 'network.init.gain')[0],
    ).toMatchObject({ value: 1, label: 'gain = 1' });
    expect(line({ kind: 'rnn', init: { scheme: 'orthogonal', gain: 1 } }, 'network.init.gain')[0]).toMatchObject({
      value: 1,
      label: 'λ₁ = 1',
    });
    expect(line({ kind: 'linear', depth: 3 }, 'network.depth')).toEqual([]);
  });
});
