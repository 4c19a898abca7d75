/**
 * Invariants that hold for every matrix, checked on random networks: submultiplicativity of the
 * spectral norm (‖W_k…W_1‖₂ ≤ Π‖W_i‖₂), σ_min ≤ σ_max ≤ ‖·‖_F ≤ √rank·σ_max, spectral radius ≤ λ₁,
 * and ‖W_hh^k‖₂ ≤ λ₁^k. Tolerances allow for rounding: 1e-10 relative.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AnalysisRequest, AnalysisResult } from '../../src/contract/analysis.js';
import { decodeNum, type Num } from '../../src/contract/events.js';
import { analyze, checkAnalysis } from '../../src/engine/analysis/index.js';

const n = (x: Num | null | undefined) => decodeNum(x as Num);
const TOL = 1 + 1e-10;

// Gains from subnormal to 1e300: products then span far more than float64's range.
const gain = fc.oneof(fc.double({ min: 0.01, max: 4, noNaN: true }), fc.double({ min: 0, max: 1e300, noNaN: true }));
const init = fc.oneof(
  fc.record({
    scheme: fc.constant('scaled-identity'),
    gain: fc.oneof(
      gain,
      gain.map((g) => -g),
    ),
  }),
  fc.record({ scheme: fc.constant('gaussian'), std: gain }),
  fc.record({ scheme: fc.constantFrom('xavier', 'he', 'orthogonal'), gain: gain.filter((g) => g > 0) }),
);
const layered = fc.record({
  kind: fc.constantFrom('linear', 'mlp'),
  depth: fc.integer({ min: 1, max: 12 }),
  width: fc.integer({ min: 1, max: 12 }),
  inputDim: fc.integer({ min: 1, max: 12 }),
  outputDim: fc.integer({ min: 1, max: 12 }),
  init,
});
const rnn = fc.record({
  kind: fc.constant('rnn'),
  hidden: fc.integer({ min: 1, max: 12 }),
  seqLength: fc.integer({ min: 1, max: 40 }),
  inputDim: fc.integer({ min: 1, max: 4 }),
  outputDim: fc.integer({ min: 1, max: 4 }),
  activation: fc.constantFrom('tanh', 'identity', 'relu'),
  init,
});

function checkLayers(r: AnalysisResult): void {
  for (const l of r.layers) {
    const [rows, cols] = l.shape;
    const smax = n(l.sigmaMax);
    expect(n(l.sigmaMin)).toBeLessThanOrEqual(smax * TOL);
    expect(smax).toBeLessThanOrEqual(n(l.frobenius) * TOL);
    expect(n(l.frobenius)).toBeLessThanOrEqual(Math.sqrt(Math.min(rows, cols)) * smax * TOL + 1e-300);
  }
}

describe('analysis invariants on random networks (fast-check)', () => {
  it('layered: schema-valid, one product per layer, ‖P_k‖₂ ≤ Π_{i≤k} ‖W_i‖₂', () => {
    fc.assert(
      fc.property(layered, fc.integer({ min: 0, max: 2 ** 32 - 1 }), (network, seed) => {
        const request = AnalysisRequest.parse({ network, seed });
        expect(checkAnalysis(request)).toEqual([]);
        const r = analyze(request);
        expect(AnalysisResult.safeParse(JSON.parse(JSON.stringify(r))).success).toBe(true);
        expect(r.products).toHaveLength(network.depth);
        checkLayers(r);
        let bound = 1;
        for (const [i, p] of r.products.entries()) {
          bound *= n(r.layers[i].sigmaMax);
          expect(Number.isNaN(n(p.spectralNorm))).toBe(false);
          expect(Number.isNaN(n(p.log10SpectralNorm))).toBe(false);
          expect(n(p.spectralNorm)).toBeLessThanOrEqual(bound * TOL + 1e-300);
        }
        const last = r.products[network.depth - 1];
        expect(r.product === null).toBe(last.shape[0] > 16 || last.shape[1] > 16);
        if (r.product?.spectralRadius != null) {
          expect(n(r.product.spectralRadius)).toBeLessThanOrEqual(n(last.spectralNorm) * TOL + 1e-300);
        }
      }),
      { numRuns: 60, seed: 20260101 },
    );
  });

  it('rnn: spectral radius ≤ λ₁, ‖W_hh^k‖₂ ≤ λ₁^k, condition consistent with λ₁', () => {
    fc.assert(
      fc.property(rnn, fc.integer({ min: 0, max: 2 ** 32 - 1 }), (network, seed) => {
        const r = analyze(AnalysisRequest.parse({ network, seed }));
        checkLayers(r);
        const rec = r.recurrent;
        if (!rec) throw new Error('rnn without recurrent analysis');
        const l1 = n(rec.lambda1);
        expect(n(rec.spectralRadius)).toBeLessThanOrEqual(l1 * TOL + 1e-300);
        expect(rec.condition).toBe(l1 < 1 ? 'vanishing-guaranteed' : l1 > 1 ? 'exploding-possible' : 'boundary');
        expect(rec.powers).toHaveLength(network.seqLength - 1);
        for (const [i, p] of (rec.powers ?? []).entries()) {
          expect(n(p)).toBeLessThanOrEqual(l1 ** (i + 1) * (1 + 1e-10 * (i + 1)) + 1e-300);
        }
      }),
      { numRuns: 60, seed: 20260102 },
    );
  });
});
