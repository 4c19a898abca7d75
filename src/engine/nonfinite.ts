/**
 * Where the first non-finite value of a step sits. The trainer probes cheaply every step (the
 * model's activation probe, and loss + gradNorm + paramNorm, which turn NaN when anything is
 * non-finite) and calls `locateNonFinite` only when a probe fires: activations in forward order, then the loss, gradients, the gradient norm, weights after
 * the update, the parameter norm.
 */
import { encodeNum } from '../contract/num.js';
import type { Model } from './model.js';
import type { SegmentTable } from './norms.js';
import { firstNonFinite, rootOf } from './ops.js';
import type { NonFiniteInfo } from './types.js';

export interface StepState {
  step: number;
  loss: number;
  gradNorm: number;
  paramNorm: number;
  /** Per-segment ‖∂L/∂p‖² and ‖p‖² of the step. */
  gradSq: Float64Array;
  paramSq: Float64Array;
}

export function locateNonFinite(
  model: Model,
  table: SegmentTable,
  layerNames: readonly string[],
  f32: boolean,
  s: StepState,
): NonFiniteInfo | null {
  const info = (tensor: NonFiniteInfo['tensor'], layer: string | null, where: string, value: number) =>
    ({ step: s.step, tensor, layer, where, value: encodeNum(value) }) satisfies NonFiniteInfo;
  const { segments, grads, params } = model;
  if (Number.isNaN(model.activationProbe)) {
    const a = model.locateActivation();
    if (a) return info('activation', a.layer, a.where, a.value);
  }
  if (!Number.isFinite(s.loss)) return info('loss', null, 'loss', s.loss);
  for (let i = 0; i < table.count; i++) {
    if (Number.isFinite(s.gradSq[i])) continue;
    const seg = segments[i];
    const k = firstNonFinite(grads, table.off[i], seg.length);
    if (k >= 0) return info('gradient', layerNames[seg.layer], `gradient of ${seg.name}`, grads[k]);
    return info('norm', layerNames[seg.layer], `norm: gradient norm of ${seg.name}`, rootOf(s.gradSq[i], f32));
  }
  if (!Number.isFinite(s.gradNorm)) return info('norm', null, 'norm: global gradient norm', s.gradNorm);
  for (let i = 0; i < table.count; i++) {
    if (Number.isFinite(s.paramSq[i])) continue;
    const seg = segments[i];
    const k = firstNonFinite(params, table.off[i], seg.length);
    if (k >= 0) return info('weight', layerNames[seg.layer], `weight ${seg.name} after the update`, params[k]);
    return info('norm', layerNames[seg.layer], `norm: weight norm of ${seg.name}`, rootOf(s.paramSq[i], f32));
  }
  if (!Number.isFinite(s.paramNorm)) return info('norm', null, 'norm: parameter norm', s.paramNorm);
  return null;
}
