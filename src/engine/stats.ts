/**
 * Forward-pass statistics at initialization, for checking initialization theory (He et al. 2015,
 * the textbook products) against the engine's own forward pass rather than a re-implementation.
 */
import type { JobSpec } from '../contract/spec.js';
import { defaultBackend } from './backend.js';
import { buildDataset, standardizeInputs } from './data.js';
import { initParams } from './init.js';
import { createModel } from './model.js';
import { resolveShape } from './shape.js';

export interface ForwardStats {
  /** Mean of x² over the data set's inputs. */
  inputSecondMoment: number;
  /** Per layer (z_1…z_L; rnn u_1…u_T then ŷ): mean of the squared pre-activations over the batch. */
  preActivationSecondMoments: number[];
  /** The network's outputs for every sample, [n][outputDim] row-major. */
  output: Float64Array;
  loss: number;
}

/** One forward pass over the spec's whole data set at the spec's initial weights. */
export function forwardStats(spec: JobSpec): ForwardStats {
  const shape = resolveShape(spec);
  const data = buildDataset(spec, shape);
  if (spec.mitigations.some((m) => m.kind === 'input-normalization')) standardizeInputs(data);
  const model = createModel(shape, data.n, initParams(spec), defaultBackend(), spec.training.dtype === 'float32');
  model.loadBatch(
    data.x,
    data.y,
    Int32Array.from({ length: data.n }, (_, i) => i),
  );
  const loss = model.forward();
  const meanSq = (x: Float64Array) => {
    let s = 0;
    for (let i = 0; i < x.length; i++) s += x[i] * x[i];
    return s / x.length;
  };
  const pre = model.preActivations();
  return {
    inputSecondMoment: meanSq(data.x),
    preActivationSecondMoments: pre.map(meanSq),
    output: Float64Array.from(pre[pre.length - 1]),
    loss,
  };
}
