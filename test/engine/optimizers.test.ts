// Optimizers, clipping and the learning-rate schedule against steps computed by hand on a one-layer
// net (ŷ = Wx + b, MSE), following the update rules as PyTorch documents them (torch.optim.SGD,
// torch.optim.Adam, clip_grad_norm_, clip_grad_value_). Tolerance: 1e-12 relative — the engine
// follows PyTorch's order of operations, the reference the documented formulas, so the two differ
// only by rounding.
import { describe, expect, it } from 'vitest';
import type { JobSpecInput } from '../../src/contract/spec.js';
import { simulate } from '../../src/engine/index.js';
import { learningRateAt, scheduleOf } from '../../src/engine/schedule.js';
import { parse } from './helpers.js';

const X = [
  [1, 2],
  [3, -1],
  [-2, 0.5],
];
const Y = [[1], [0], [-0.5]];
const W0 = [0.5, -0.25];
const B0 = 0.1;

type Params = { w: number[]; b: number };

/** ∂L/∂W and ∂L/∂b of mean((Wx + b − y)²), and the loss, by hand. */
function gradient({ w, b }: Params): { gw: number[]; gb: number; loss: number } {
  const n = X.length;
  let loss = 0;
  const gw = [0, 0];
  let gb = 0;
  for (let s = 0; s < n; s++) {
    const r = w[0] * X[s][0] + w[1] * X[s][1] + b - Y[s][0];
    loss += (r * r) / n;
    gw[0] += (2 * r * X[s][0]) / n;
    gw[1] += (2 * r * X[s][1]) / n;
    gb += (2 * r) / n;
  }
  return { gw, gb, loss };
}

function spec(extra: Partial<JobSpecInput>): JobSpecInput {
  return {
    network: {
      kind: 'linear',
      depth: 1,
      inputDim: 2,
      outputDim: 1,
      bias: true,
      init: { scheme: 'explicit', weights: [[W0]], biases: [[B0]] },
    },
    data: { kind: 'explicit', inputs: X, targets: Y },
    ...extra,
  };
}

interface RefStep {
  loss: number;
  gradNorm: number;
  clippedGradNorm: number;
  weightNorm: number;
  paramNorm: number;
  updateRatio: number;
}

type Update = (g: number[], step: number) => number[];

/** Runs `steps` steps by hand; `clip` maps the gradient vector [gW1, gW2, gb] before `update`. */
function reference(steps: number, update: Update, clip: (g: number[]) => number[] = (g) => g): RefStep[] {
  let p = [...W0, B0];
  const out: RefStep[] = [];
  for (let step = 1; step <= steps; step++) {
    const { gw, gb, loss } = gradient({ w: [p[0], p[1]], b: p[2] });
    const g = [...gw, gb];
    const gc = clip(g);
    const delta = update(gc, step);
    const next = p.map((x, i) => x + delta[i]);
    out.push({
      loss,
      gradNorm: Math.hypot(...g),
      clippedGradNorm: Math.hypot(...gc),
      weightNorm: Math.hypot(next[0], next[1]),
      paramNorm: Math.hypot(...next),
      updateRatio: Math.hypot(next[0] - p[0], next[1] - p[1]) / Math.hypot(next[0], next[1]),
    });
    p = next;
  }
  return out;
}

function expectSeriesMatches(input: JobSpecInput, ref: RefStep[]) {
  const { series } = simulate(parse(input));
  expect(series.length).toBe(ref.length);
  const close = (a: number, b: number, what: string, i: number) =>
    expect(Math.abs(a - b), `${what} at step ${i + 1}: ${a} vs ${b}`).toBeLessThanOrEqual(1e-12 * Math.abs(b));
  ref.forEach((r, i) => {
    close(series.loss[i], r.loss, 'loss', i);
    close(series.gradNorm[i], r.gradNorm, 'gradNorm', i);
    close(series.clippedGradNorm[i], r.clippedGradNorm, 'clippedGradNorm', i);
    close(series.layerWeightNorm[0][i], r.weightNorm, 'weightNorm', i);
    close(series.paramNorm[i], r.paramNorm, 'paramNorm', i);
    close(series.layerUpdateRatio[0][i], r.updateRatio, 'updateRatio', i);
  });
}

const lr = 0.05;
const sgd: Update = (g) => g.map((x) => -lr * x);

describe('optimizers', () => {
  it('sgd: p ← p − lr·g', () => {
    expectSeriesMatches(spec({ training: { steps: 4, learningRate: lr, optimizer: 'sgd' } }), reference(4, sgd));
  });

  it('momentum 0.9: the buffer starts as the first gradient, then b ← 0.9·b + g; p ← p − lr·b', () => {
    let buf: number[] = [];
    const momentum: Update = (g, step) => {
      buf = step === 1 ? [...g] : buf.map((b, i) => 0.9 * b + g[i]);
      return buf.map((b) => -lr * b);
    };
    expectSeriesMatches(
      spec({ training: { steps: 4, learningRate: lr, optimizer: 'momentum' } }),
      reference(4, momentum),
    );
  });

  it('adam (β 0.9/0.999, ε 1e-8, bias-corrected)', () => {
    let m = [0, 0, 0];
    let v = [0, 0, 0];
    const adam: Update = (g, t) => {
      m = m.map((x, i) => 0.9 * x + 0.1 * g[i]);
      v = v.map((x, i) => 0.999 * x + 0.001 * g[i] * g[i]);
      return m.map((x, i) => {
        const mHat = x / (1 - 0.9 ** t);
        const vHat = v[i] / (1 - 0.999 ** t);
        return (-lr * mHat) / (Math.sqrt(vHat) + 1e-8);
      });
    };
    expectSeriesMatches(spec({ training: { steps: 5, learningRate: lr, optimizer: 'adam' } }), reference(5, adam));
  });

  it('the reference can fail: plain sgd does not match a momentum run', () => {
    expect(() =>
      expectSeriesMatches(spec({ training: { steps: 3, learningRate: lr, optimizer: 'momentum' } }), reference(3, sgd)),
    ).toThrow();
  });
});

describe('clipping', () => {
  const clipNorm = (max: number) => (g: number[]) => {
    const coef = max / (Math.hypot(...g) + 1e-6);
    return coef < 1 ? g.map((x) => x * coef) : g;
  };
  const clipValue = (v: number) => (g: number[]) => g.map((x) => Math.min(v, Math.max(-v, x)));

  it('clip-norm: coef = maxNorm/(‖g‖ + 1e-6), applied when < 1; gradNorm stays the pre-clip norm', () => {
    const ref = reference(3, sgd, clipNorm(0.5));
    expect(ref[0].gradNorm).toBeGreaterThan(0.5);
    expect(ref[0].clippedGradNorm).toBeCloseTo(0.5, 6);
    expectSeriesMatches(
      spec({ training: { steps: 3, learningRate: lr }, mitigations: [{ kind: 'clip-norm', maxNorm: 0.5 }] }),
      ref,
    );
  });

  it('clip-norm above the gradient norm leaves the gradient alone', () => {
    const ref = reference(2, sgd);
    expectSeriesMatches(
      spec({ training: { steps: 2, learningRate: lr }, mitigations: [{ kind: 'clip-norm', maxNorm: 1e6 }] }),
      ref,
    );
  });

  it('clip-value clamps every element to [−v, v]', () => {
    const ref = reference(3, sgd, clipValue(0.3));
    expectSeriesMatches(
      spec({ training: { steps: 3, learningRate: lr }, mitigations: [{ kind: 'clip-value', maxValue: 0.3 }] }),
      ref,
    );
  });

  it('clips apply in the order given', () => {
    const a = reference(2, sgd, (g) => clipNorm(0.5)(clipValue(0.3)(g)));
    const b = reference(2, sgd, (g) => clipValue(0.3)(clipNorm(0.5)(g)));
    expect(a[0].clippedGradNorm).not.toBeCloseTo(b[0].clippedGradNorm, 6);
    const training = { steps: 2, learningRate: lr };
    expectSeriesMatches(
      spec({
        training,
        mitigations: [
          { kind: 'clip-value', maxValue: 0.3 },
          { kind: 'clip-norm', maxNorm: 0.5 },
        ],
      }),
      a,
    );
    expectSeriesMatches(
      spec({
        training,
        mitigations: [
          { kind: 'clip-norm', maxNorm: 0.5 },
          { kind: 'clip-value', maxValue: 0.3 },
        ],
      }),
      b,
    );
  });
});

describe('lr-schedule (formulas in src/engine/schedule.ts and docs/engine.md)', () => {
  it('linear warm-up then cosine to 0 at the last step, as recorded in the lr column', () => {
    const s = parse(
      spec({
        training: { steps: 10, learningRate: 0.2 },
        mitigations: [{ kind: 'lr-schedule', warmupSteps: 4, decay: 'cosine' }],
      }),
    );
    const expected = [0.05, 0.1, 0.15, 0.2];
    for (let t = 0; t < 6; t++) expected.push(0.2 * 0.5 * (1 + Math.cos((Math.PI * t) / 5)));
    const { series } = simulate(s);
    expect(series.length).toBe(10);
    for (let i = 0; i < 10; i++) expect(series.lr[i]).toBeCloseTo(expected[i], 15);
    expect(series.lr[9]).toBeCloseTo(0, 15);
  });

  it('step decay: × gamma every stepSize steps (default a third of the post-warm-up steps)', () => {
    const sched = scheduleOf(
      parse(spec({ training: { steps: 12, learningRate: 1 }, mitigations: [{ kind: 'lr-schedule', decay: 'step' }] })),
    );
    expect(sched.stepSize).toBe(4);
    const lrs = Array.from({ length: 12 }, (_, i) => learningRateAt(sched, i + 1));
    expect(lrs).toEqual([1, 1, 1, 1, 0.1, 0.1, 0.1, 0.1, 0.1 ** 2, 0.1 ** 2, 0.1 ** 2, 0.1 ** 2]);
    const custom = scheduleOf(
      parse(
        spec({
          training: { steps: 10, learningRate: 2 },
          mitigations: [{ kind: 'lr-schedule', warmupSteps: 2, decay: 'step', stepSize: 3, gamma: 0.5 }],
        }),
      ),
    );
    expect(Array.from({ length: 10 }, (_, i) => learningRateAt(custom, i + 1))).toEqual([
      1, 2, 2, 2, 2, 1, 1, 1, 0.5, 0.5,
    ]);
  });

  it('the update uses the scheduled rate', () => {
    const warm = 3;
    const ref = reference(4, (g, step) => g.map((x) => (-lr * Math.min(step, warm) * x) / warm));
    expectSeriesMatches(
      spec({ training: { steps: 4, learningRate: lr }, mitigations: [{ kind: 'lr-schedule', warmupSteps: warm }] }),
      ref,
    );
  });
});
