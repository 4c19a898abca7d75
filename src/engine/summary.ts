/**
 * The run's summary: the numbers a reader needs first, and the verdicts (rules and constants in
 * ./verdicts.ts, in words in docs/verdicts.md): what the gradients did, what training achieved,
 * how much clipping acted, and the deprecated single `outcome`.
 */
import type { Summary } from '../contract/events.js';
import { encodeNum } from '../contract/num.js';
import type { NonFiniteInfo, Series } from './types.js';
import { classify, gradientVerdict, tailStart, trainingVerdict } from './verdicts.js';

export {
  CONVERGED_BASELINE_FACTOR,
  CONVERGED_LOSS_FACTOR,
  classify,
  DIVERGED_LOSS_FACTOR,
  EXPLODING_BACKWARD_GAIN,
  EXPLODING_NORM_GROWTH,
  type OutcomeInputs,
  VANISHING_BACKWARD_GAIN,
} from './verdicts.js';

/** How often clipping acted over the whole run (every step, recorded or not). */
export interface ClippingActivity {
  /** Steps where the clipped global norm came out below the pre-clip one. */
  stepsClipped: number;
  /** The largest ‖g‖/‖g_clipped‖ over those steps (1 when there were none). */
  maxFactor: number;
}

export interface SummaryInputs {
  series: Series;
  stepsRun: number;
  stopped: boolean;
  nonFinite: NonFiniteInfo | null;
  baselineLoss: number;
  firstGradNorm: number;
  layerGradRatio: number | null;
  backwardGain: number;
  predictedForwardGain: number | null;
  predictedLayerGradFactor: number | null;
  /** null when the spec has no clip mitigation. */
  clipping: ClippingActivity | null;
}

/** Extremes over the recorded gradient norms; NaN entries are skipped (NaN when all are). */
function extremes(x: Float64Array, n: number): [number, number] {
  let max = Number.NaN;
  let min = Number.NaN;
  for (let i = 0; i < n; i++) {
    const v = x[i];
    if (Number.isNaN(v)) continue;
    if (!(v <= max)) max = v;
    if (!(v >= min)) min = v;
  }
  return [max, min];
}

/** Global gradient norm at the last recorded step where it is finite, over the step-1 norm; NaN when undefined. */
function normGrowth(series: Series, firstGradNorm: number): number {
  if (!(Number.isFinite(firstGradNorm) && firstGradNorm > 0)) return Number.NaN;
  for (let i = series.length - 1; i >= 0; i--) {
    if (Number.isFinite(series.gradNorm[i])) return series.gradNorm[i] / firstGradNorm;
  }
  return Number.NaN;
}

export function summarize(s: SummaryInputs): Summary {
  const { series } = s;
  const n = series.length;
  const firstLoss = n > 0 ? series.loss[0] : Number.NaN;
  const finalLoss = n > 0 ? series.loss[n - 1] : Number.NaN;
  const [maxGradNorm, minGradNorm] = extremes(series.gradNorm, n);
  const outcome = classify({
    nonFinite: s.nonFinite !== null,
    firstLoss,
    finalLoss,
    baselineLoss: s.baselineLoss,
    backwardGain: s.backwardGain,
    firstGradNorm: s.firstGradNorm,
    maxGradNorm,
  });
  const growth = normGrowth(series, s.firstGradNorm);
  const lossRatio = finalLoss / firstLoss;
  const num = (x: number | null) => (x === null ? null : encodeNum(x));
  // A ratio that cannot be formed (no step, a zero or non-finite start) is null rather than NaN.
  const ratio = (x: number) => (Number.isNaN(x) ? null : encodeNum(x));
  return {
    outcome,
    gradients: {
      verdict: gradientVerdict({ backwardGain: s.backwardGain, normGrowth: growth }),
      backwardGain: n > 0 ? encodeNum(s.backwardGain) : null,
      normGrowth: ratio(growth),
    },
    training: {
      verdict: trainingVerdict({
        nonFinite: s.nonFinite !== null,
        firstLoss,
        finalLoss,
        baselineLoss: s.baselineLoss,
        tailStartLoss: n > 0 ? series.loss[tailStart(series.steps, n, s.stepsRun)] : Number.NaN,
      }),
      lossRatio: n > 0 ? encodeNum(lossRatio) : null,
    },
    mitigation: {
      clipping: s.clipping && {
        stepsClipped: s.clipping.stepsClipped,
        fraction: encodeNum(s.stepsRun > 0 ? s.clipping.stepsClipped / s.stepsRun : 0),
        maxFactor: encodeNum(s.clipping.maxFactor),
      },
    },
    stepsRun: s.stepsRun,
    stopped: s.stopped,
    firstNonFiniteStep: s.nonFinite ? s.nonFinite.step : null,
    nonFinite: s.nonFinite,
    maxGradNorm: encodeNum(maxGradNorm),
    minGradNorm: encodeNum(minGradNorm),
    firstLoss: encodeNum(firstLoss),
    finalLoss: encodeNum(finalLoss),
    baselineLoss: encodeNum(s.baselineLoss),
    layerGradRatio: num(s.layerGradRatio),
    backwardGain: encodeNum(s.backwardGain),
    predictedForwardGain: num(s.predictedForwardGain),
    predictedLayerGradFactor: num(s.predictedLayerGradFactor),
  };
}
