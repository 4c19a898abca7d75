/** How much a spec will cost, for the service's size budget (an estimate, not a measurement). */
import type { JobSpec } from '../contract/spec.js';
import { seriesCapacity } from './series.js';
import { ioDims, resolveShape } from './shape.js';
import type { WorkEstimate } from './types.js';

export function estimateWork(spec: JobSpec): WorkEstimate {
  const shape = resolveShape(spec);
  const { inputDim, outputDim } = ioDims(shape);
  const samples = spec.data.kind === 'synthetic' ? spec.data.samples : spec.data.inputs.length;
  const batch = Math.min(spec.training.batchSize, samples);
  const steps = spec.training.steps;
  let params: number;
  let macs: number;
  let activations: number;
  let layers: number;
  let seq = 1;
  if (shape.kind === 'rnn') {
    const { hidden: h, seqLength: t } = shape;
    seq = t;
    params = h * inputDim + h * h + outputDim * h + (shape.bias ? h + outputDim : 0);
    macs = batch * (t * (h * inputDim + h * h) + h * outputDim);
    activations = batch * (t * (inputDim + 3 * h) + h + 3 * outputDim);
    layers = 3;
  } else {
    const { dims, depth } = shape;
    params = 0;
    macs = 0;
    activations = batch * (dims[0] + dims[depth]);
    for (let l = 1; l <= depth; l++) {
      params += dims[l] * dims[l - 1] + (shape.bias ? dims[l] : 0) + (shape.batchNorm && l < depth ? 2 * dims[l] : 0);
      macs += batch * dims[l] * dims[l - 1];
      activations += batch * dims[l] * (shape.batchNorm ? 5 : 3);
    }
    layers = depth;
  }
  // Forward is one multiply-add per weight and sample, backward two; the update, clipping and
  // norms touch every parameter a handful of times.
  const flopsPerStep = 6 * macs + 12 * params + 10 * activations;
  const optimizerCopies = spec.training.optimizer === 'adam' ? 2 : spec.training.optimizer === 'momentum' ? 1 : 0;
  const records = seriesCapacity(steps, spec.record.every);
  const columns =
    5 +
    (spec.record.layers ? (shape.kind === 'rnn' ? 3 : 4) * layers : 0) +
    (shape.kind === 'rnn' && spec.record.hiddenGradNorms ? seq : 0);
  const seriesBytes = records * (4 + 8 * columns);
  const bytes =
    8 * (params * (2 + optimizerCopies) + activations + samples * (seq * inputDim + outputDim) * 2) + seriesBytes;
  return { flops: steps * flopsPerStep, bytes, records, seriesBytes };
}
