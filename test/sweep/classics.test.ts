/**
 * The four classic sweep presets, each cell run through the engine in-process, asserting the
 * finding the preset is named for. Where a finding is about step-1 gradients the cells run one
 * step; the Schoenholz grid is reduced to three depths to keep the suite fast.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Summary } from '../../src/contract/events.js';
import type { JobSpec } from '../../src/contract/spec.js';
import { type CellPrediction, SweepPreset, type SweepRequest } from '../../src/contract/sweep.js';
import { sweepPresets } from '../../src/contract/sweep-presets.js';
import { simulate } from '../../src/engine/index.js';
import { cellSpec, cellValues, expandSweep } from '../../src/runtime/sweep/expand.js';
import { predictCell, theoryLines } from '../../src/runtime/sweep/theory.js';

interface Ran {
  values: unknown[];
  spec: JobSpec;
  summary: Summary;
  predicted: CellPrediction;
}

function preset(id: string): SweepRequest {
  const p = sweepPresets.find((x) => x.id === id);
  if (!p) throw new Error(`no preset ${id}`);
  return SweepPreset.parse(p).request;
}

function run(request: SweepRequest, tweak: (spec: JobSpec) => void = () => {}): Ran[] {
  const { total } = expandSweep(request);
  const out: Ran[] = [];
  for (let i = 0; i < total; i++) {
    const spec = cellSpec(request, i);
    tweak(spec);
    out.push({ values: cellValues(request, i), spec, summary: simulate(spec).summary, predicted: predictCell(spec) });
  }
  return out;
}

const num = (x: unknown): number => (typeof x === 'number' ? x : Number(x));

describe('sweep presets', () => {
  it('every preset is a valid sweep request within the default budgets', () => {
    expect(sweepPresets.map((p) => p.id)).toEqual([
      'sweep-he-2015',
      'sweep-schoenholz-2017',
      'sweep-pascanu-2013',
      'sweep-textbook',
    ]);
    for (const p of sweepPresets) expect(() => expandSweep(SweepPreset.parse(p).request)).not.toThrow();
  });
});

describe('He et al. 2015 (ICCV, §2.2): 30 ReLU layers, width 256, one step', () => {
  let narrow: Ran;
  let he: Ran;
  beforeAll(() => {
    [narrow, he] = run(preset('sweep-he-2015'));
  });

  it('std √(1/fanIn): the backward signal shrinks by ½ in second moment per layer, 2^−14.5 in norm over 29 layers', () => {
    // Tolerance: a factor 4 either way (finite width 256 and one batch of 64); measured ≈ 0.9×.
    const ratio = num(narrow.summary.backwardGain) / 2 ** -14.5;
    expect(ratio).toBeGreaterThan(1 / 4);
    expect(ratio).toBeLessThan(4);
    expect(narrow.summary.outcome).toBe('vanishing');
  });

  it('std √(2/fanIn): the backward signal stays O(1) (within a factor 10 of 1, against 2^14.5 ≈ 23,000 for the other init)', () => {
    const g = num(he.summary.backwardGain);
    expect(g).toBeGreaterThan(0.1);
    expect(g).toBeLessThan(10);
    // Mean field agrees: χ₁ = σ_w²/2 = 1 for He, ½ for √(1/fanIn).
    expect(num(he.predicted.chi1)).toBeCloseTo(1, 12);
    expect(num(narrow.predicted.chi1)).toBeCloseTo(0.5, 12);
  });
});

describe('Schoenholz et al. 2017 (ICLR): tanh, σ_w × depth, order to chaos', () => {
  const full = preset('sweep-schoenholz-2017');
  // Reduced grid: every σ_w of the preset, depths 5, 50 and 200; one step (the finding is about step-1 gradients).
  const request: SweepRequest = {
    ...full,
    axes: [full.axes[0], { ...full.axes[1], values: [5, 50, 200] }],
  };
  let cells: Ran[];
  beforeAll(() => {
    cells = run(request, (spec) => {
      spec.training.steps = 1;
    });
  });
  const lnGain = (c: Ran) => Math.log(num(c.summary.backwardGain));
  const predictedLn = (c: Ran) => (((c.values[1] as number) - 1) / 2) * Math.log(num(c.predicted.chi1));

  it('the grid’s metadata carries the χ₁ = 1 line at σ_w = 1 (xavier gain on square layers, σ_b = 0)', () => {
    const lines = theoryLines(request);
    expect(lines).toEqual([expect.objectContaining({ path: 'network.init.gain', value: 1, label: 'χ₁ = 1' })]);
  });

  it('ln backwardGain follows the mean-field law (L−1)/2 · ln χ₁ (within 5% + 4.5 in ln)', () => {
    // The slack covers finite width (64) and, on the critical line, the slow (power-law) decay of q
    // towards q* = 0 that mean field's exponential law does not describe; the law spans ±140 in ln here.
    for (const c of cells) {
      const pred = predictedLn(c);
      expect(Math.abs(lnGain(c) - pred), `σ_w=${c.values[0]} L=${c.values[1]}`).toBeLessThanOrEqual(
        0.05 * Math.abs(pred) + 4.5,
      );
    }
  });

  it('shallow nets pass the signal at every σ_w with 6ξ ≥ L − 1; deep nets only near χ₁ = 1', () => {
    // Trainable ⇔ L ≲ 6ξ (their Fig. 5), i.e. the step-1 signal within e^±3.
    const survives = (c: Ran) => Math.abs(lnGain(c)) <= 3;
    for (const c of cells.filter((x) => x.values[1] === 5)) {
      const xi = Math.abs(num(c.predicted.depthScale));
      if (6 * xi >= 5) expect(survives(c), `σ_w=${c.values[0]}`).toBe(true);
    }
    for (const depth of [50, 200]) {
      const row = cells.filter((c) => c.values[1] === depth);
      const alive = row.filter(survives);
      expect(alive.length).toBeGreaterThan(0);
      for (const c of alive)
        expect(Math.abs(num(c.predicted.chi1) - 1), `σ_w=${c.values[0]} L=${depth}`).toBeLessThan(0.05);
      // Away from the line the signal vanishes (ordered) or explodes (chaotic), by orders of magnitude at depth 200.
      for (const c of row.filter((x) => Math.abs(num(x.predicted.chi1) - 1) > 0.15)) {
        expect(survives(c)).toBe(false);
        expect(Math.sign(lnGain(c))).toBe(Math.sign(Math.log(num(c.predicted.chi1))));
      }
      const best = row.reduce((a, b) => (Math.abs(lnGain(a)) <= Math.abs(lnGain(b)) ? a : b));
      expect(Math.abs(num(best.predicted.chi1) - 1)).toBeLessThan(0.05);
    }
    const deepest = cells.filter((c) => c.values[1] === 200);
    expect(Math.log10(num(deepest[0].summary.backwardGain))).toBeLessThan(-50); // σ_w = 0.5
    expect(Math.log10(num(deepest.at(-1)!.summary.backwardGain))).toBeGreaterThan(20); // σ_w = 3
  });
});

describe('Pascanu et al. 2013 (ICML, §3.1): W_hh = λ·orthogonal, λ × T', () => {
  let cells: Ran[];
  beforeAll(() => {
    cells = run(preset('sweep-pascanu-2013'));
  });

  it('identity rnn: ‖∂L/∂h_1‖/‖∂L/∂h_T‖ = λ^(T−1) (relative 1e-9)', () => {
    // ∂L/∂h_t = W_hhᵀ ∂L/∂h_{t+1} and λ·Q scales every vector by exactly λ; tolerance covers T ≤ 200 roundings.
    const identity = cells.filter((c) => c.values[2] === 'identity');
    expect(identity).toHaveLength(45);
    for (const c of identity) {
      const [lambda, T] = c.values as [number, number];
      expect(num(c.summary.backwardGain) / lambda ** (T - 1) - 1, `λ=${lambda} T=${T}`).toBeCloseTo(0, 9);
      expect(num(c.predicted.backwardGainBound) / lambda ** (T - 1) - 1).toBeCloseTo(0, 12);
    }
  });

  it('tanh rnn: at most λ^(T−1) (|tanh′| ≤ 1), so it vanishes for λ < 1; above 1 it can grow', () => {
    const tanh = cells.filter((c) => c.values[2] === 'tanh');
    for (const c of tanh) {
      const [lambda, T] = c.values as [number, number];
      expect(num(c.summary.backwardGain), `λ=${lambda} T=${T}`).toBeLessThanOrEqual(lambda ** (T - 1) * (1 + 1e-9));
    }
    const grown = tanh.filter((c) => (c.values[0] as number) > 1 && num(c.summary.backwardGain) > 1);
    expect(grown.length).toBeGreaterThan(0);
    const longest = tanh.find((c) => c.values[0] === 1.5 && c.values[1] === 200)!;
    expect(num(longest.summary.backwardGain)).toBeGreaterThan(100);
    expect(num(tanh.find((c) => c.values[0] === 0.5 && c.values[1] === 200)!.summary.backwardGain)).toBeLessThan(1e-50);
  });

  it('the theory line sits at λ₁ = 1 and every cell predicts λ₁ = λ exactly', () => {
    expect(theoryLines(preset('sweep-pascanu-2013'))).toEqual([
      expect.objectContaining({ path: 'network.init.gain', value: 1 }),
    ]);
    for (const c of cells) expect(c.predicted.lambda1).toBe(c.values[0]);
  });
});

describe('The textbook (Goodfellow et al. 2016, §8.2.5, §10.11.1): W = gain·I, gain × depth × clipping', () => {
  let cells: Ran[];
  beforeAll(() => {
    cells = run(preset('sweep-textbook'));
  });
  const clipped = (c: Ran) => (c.values[2] as unknown[]).length > 0;

  it('backwardGain = gain^(L−1) in every cell (relative 1e-12): the boundary is gain = 1', () => {
    for (const c of cells) {
      const [gain, depth] = c.values as [number, number];
      expect(num(c.summary.backwardGain) / gain ** (depth - 1) - 1, `gain=${gain} L=${depth}`).toBeCloseTo(0, 12);
      expect(num(c.predicted.layerGradFactor)).toBe(gain ** (depth - 1));
    }
  });

  it('without clipping, deep gain > 1 cells go non-finite and no gain ≤ 1 cell does', () => {
    const plain = cells.filter((c) => !clipped(c));
    const blown = plain.filter((c) => c.summary.firstNonFiniteStep !== null);
    expect(blown.length).toBeGreaterThanOrEqual(4);
    for (const c of blown) expect(c.values[0] as number).toBeGreaterThan(1);
    expect(plain.find((c) => c.values[0] === 1.5 && c.values[1] === 30)!.summary.outcome).toBe('nonfinite');
  });

  it('with clip-norm 1, every cell stays finite', () => {
    for (const c of cells.filter(clipped)) {
      expect(c.summary.firstNonFiniteStep, `gain=${c.values[0]} L=${c.values[1]}`).toBeNull();
      expect(Number.isFinite(num(c.summary.finalLoss))).toBe(true);
    }
  });
});
