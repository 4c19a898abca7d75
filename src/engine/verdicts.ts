/**
 * Every rule the run summary labels a run with, and every constant those rules use, in one place
 * (docs/verdicts.md states them in words; test/engine/verdicts.test.ts walks each boundary).
 *
 * Two questions, answered separately:
 * - `gradients`: what the gradients did — exploding, vanishing or healthy — from the backward gain
 *   at step 1 and the growth of the global gradient norm over the run;
 * - `training`: what training achieved — nonfinite, diverged, converged, improving or stalled —
 *   from the losses alone.
 * The deprecated single `outcome` (`classify`) mixed both and is kept unchanged for old clients.
 */
import type { GradientVerdict, Outcome, TrainingVerdict } from '../contract/events.js';

/** diverged: the final loss is above this many times the first. */
export const DIVERGED_LOSS_FACTOR = 10;
/** converged: the final loss is at most this fraction of the first … */
export const CONVERGED_LOSS_FACTOR = 0.1;
/** … and at most this fraction of the baseline loss (predicting each target's mean). */
export const CONVERGED_BASELINE_FACTOR = 0.5;
/** exploding: the backward signal grows at least this much from the output to the first layer (step 1) … */
export const EXPLODING_BACKWARD_GAIN = 10;
/** … or the global gradient norm grows at least this much over the run. */
export const EXPLODING_NORM_GROWTH = 100;
/** vanishing: the backward signal shrinks to at most this fraction from the output to the first layer (step 1). */
export const VANISHING_BACKWARD_GAIN = 0.1;
/** improving vs stalled: the tail is the last quarter of the steps run … */
export const IMPROVING_TAIL_FRACTION = 0.25;
/** … and the loss must fall below this fraction of its value where the tail starts to count as improving. */
export const IMPROVING_TAIL_LOSS_FACTOR = 0.99;

export interface GradientInputs {
  /** ‖∂L/∂z_1‖/‖∂L/∂z_L‖ (linear, mlp) or ‖∂L/∂h_1‖/‖∂L/∂h_T‖ (rnn) at step 1. */
  backwardGain: number;
  /** Global gradient norm at the last recorded step where it is finite, over its step-1 value (NaN: none). */
  normGrowth: number;
}

/** exploding, then vanishing, then healthy: the first rule that holds (NaN inputs hold none). */
export function gradientVerdict(x: GradientInputs): GradientVerdict {
  if (x.backwardGain >= EXPLODING_BACKWARD_GAIN || x.normGrowth >= EXPLODING_NORM_GROWTH) return 'exploding';
  if (x.backwardGain <= VANISHING_BACKWARD_GAIN) return 'vanishing';
  return 'healthy';
}

export interface TrainingInputs {
  nonFinite: boolean;
  firstLoss: number;
  finalLoss: number;
  baselineLoss: number;
  /** The recorded loss where the last IMPROVING_TAIL_FRACTION of the steps run begins. */
  tailStartLoss: number;
}

/** nonfinite, diverged, converged, improving, stalled: the first rule that holds. */
export function trainingVerdict(x: TrainingInputs): TrainingVerdict {
  if (x.nonFinite) return 'nonfinite';
  if (x.finalLoss > DIVERGED_LOSS_FACTOR * x.firstLoss) return 'diverged';
  if (x.finalLoss <= CONVERGED_LOSS_FACTOR * x.firstLoss && x.finalLoss <= CONVERGED_BASELINE_FACTOR * x.baselineLoss) {
    return 'converged';
  }
  if (x.finalLoss < IMPROVING_TAIL_LOSS_FACTOR * x.tailStartLoss) return 'improving';
  return 'stalled';
}

/** Index of the first record at or after the step where the tail begins (the last record at most). */
export function tailStart(steps: Int32Array, length: number, stepsRun: number): number {
  const from = Math.ceil((1 - IMPROVING_TAIL_FRACTION) * stepsRun);
  let i = 0;
  while (i < length - 1 && steps[i] < from) i++;
  return i;
}

export interface OutcomeInputs {
  nonFinite: boolean;
  firstLoss: number;
  finalLoss: number;
  baselineLoss: number;
  backwardGain: number;
  firstGradNorm: number;
  maxGradNorm: number;
}

/**
 * Deprecated single outcome: the first rule that holds of nonfinite, diverged, converged (as in
 * `trainingVerdict`), exploding (backward gain, or the LARGEST recorded gradient norm over the
 * step-1 norm, against the same constants), vanishing, stable.
 */
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
