/**
 * The run's verdict. Outcome = the first rule that holds, in this order:
 *   1. nonfinite   a NaN or ±Infinity was seen (loss, activation, gradient, weight or a norm)
 *   2. diverged    finalLoss > DIVERGED_LOSS_FACTOR × firstLoss
 *   3. converged   finalLoss ≤ CONVERGED_LOSS_FACTOR × firstLoss, and finalLoss ≤
 *                  CONVERGED_BASELINE_FACTOR × baselineLoss (the loss of predicting each target's
 *                  mean): the loss fell tenfold AND the fit explains at least half the targets'
 *                  variance, so a loss that falls only from an exploded start does not count
 *   4. exploding   backwardGain ≥ EXPLODING_BACKWARD_GAIN at step 1, or the largest recorded
 *                  gradient norm ≥ EXPLODING_NORM_GROWTH × the step-1 gradient norm
 *   5. vanishing   backwardGain ≤ VANISHING_BACKWARD_GAIN at step 1
 *   6. stable      none of the above
 */
import type { Outcome, Summary } from '../contract/events.js';
import { encodeNum } from '../contract/num.js';
import type { NonFiniteInfo, Series } from './types.js';

export const DIVERGED_LOSS_FACTOR = 10;
export const CONVERGED_LOSS_FACTOR = 0.1;
export const CONVERGED_BASELINE_FACTOR = 0.5;
export const EXPLODING_BACKWARD_GAIN = 10;
export const EXPLODING_NORM_GROWTH = 100;
export const VANISHING_BACKWARD_GAIN = 0.1;

export interface OutcomeInputs {
  nonFinite: boolean;
  firstLoss: number;
  finalLoss: number;
  baselineLoss: number;
  backwardGain: number;
  firstGradNorm: number;
  maxGradNorm: number;
}

export function classify(x: OutcomeInputs): Outcome {
  if (x.nonFinite) return 'nonfinite';
  if (x.finalLoss > DIVERGED_LOSS_FACTOR * x.firstLoss) return 'diverged';
  if (x.finalLoss <= CONVERGED_LOSS_FACTOR * x.firstLoss && x.finalLoss <= CONVERGED_BASELINE_FACTOR * x.baselineLoss) {
    return 'converged';
  }
  if (x.backwardGain >= EXPLODING_BACKWARD_GAIN || x.maxGradNorm >= EXPLODING_NORM_GROWTH * x.firstGradNorm) {
    return 'exploding';
  }
  if (x.backwardGain <= VANISHING_BACKWARD_GAIN) return 'vanishing';
  return 'stable';
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
  const num = (x: number | null) => (x === null ? null : encodeNum(x));
  return {
    outcome,
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
