/**
 * Initial weights, drawn from the job seed exactly as `simulate` starts from them. Weights are
 * [out][in] row-major; fan-in = columns, fan-out = rows (torch.nn.init's convention for Linear).
 */
import type { JobSpec } from '../contract/spec.js';
import { Rng, Stream } from './rng.js';
import { resolveShape } from './shape.js';
import type { DenseParams, InitialParams } from './types.js';

type Init = JobSpec['network']['init'];
type RandomInit = Exclude<Init, { scheme: 'explicit' }>;

/** Fills a rows×cols matrix for a non-explicit scheme; draws from `rng` in row-major order. */
export function drawMatrix(init: RandomInit, rows: number, cols: number, rng: Rng): Float64Array {
  const w = new Float64Array(rows * cols);
  switch (init.scheme) {
    case 'scaled-identity': {
      const n = Math.min(rows, cols);
      for (let i = 0; i < n; i++) w[i * cols + i] = init.gain;
      return w;
    }
    case 'gaussian':
      return fillNormal(w, init.std, rng);
    case 'xavier':
      return fillNormal(w, init.gain * Math.sqrt(2 / (rows + cols)), rng);
    case 'he':
      return fillNormal(w, init.gain * Math.sqrt(2 / cols), rng);
    case 'orthogonal':
      return orthogonal(rows, cols, init.gain, rng);
  }
}

function fillNormal(w: Float64Array, std: number, rng: Rng): Float64Array {
  for (let i = 0; i < w.length; i++) w[i] = std * rng.normal();
  return w;
}

/**
 * torch.nn.init.orthogonal_: QR of a Gaussian matrix (transposed when wide), Q's columns
 * multiplied by sign(diag R) so the result is unique, times gain. Gram–Schmidt yields R with a
 * positive diagonal directly, which is that sign correction; it runs twice per column
 * ("twice is enough", Giraud et al. 2005) to stay orthogonal to working precision.
 */
export function orthogonal(rows: number, cols: number, gain: number, rng: Rng): Float64Array {
  const a = new Float64Array(rows * cols);
  for (let i = 0; i < a.length; i++) a[i] = rng.normal();
  const wide = rows < cols;
  const p = wide ? cols : rows;
  const q = wide ? rows : cols;
  // Column-major p×q copy: column j of the tall matrix is contiguous.
  const m = new Float64Array(p * q);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const v = a[i * cols + j];
      if (wide) m[i * p + j] = v;
      else m[j * p + i] = v;
    }
  }
  for (let j = 0; j < q; j++) {
    const cj = j * p;
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < j; k++) {
        const ck = k * p;
        let dot = 0;
        for (let i = 0; i < p; i++) dot += m[ck + i] * m[cj + i];
        for (let i = 0; i < p; i++) m[cj + i] -= dot * m[ck + i];
      }
    }
    let norm = 0;
    for (let i = 0; i < p; i++) norm += m[cj + i] * m[cj + i];
    norm = Math.sqrt(norm);
    if (norm > 0) for (let i = 0; i < p; i++) m[cj + i] /= norm;
  }
  const w = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) w[i * cols + j] = gain * (wide ? m[i * p + j] : m[j * p + i]);
  }
  return w;
}

function fromNested(rows: number[][]): Float64Array {
  const cols = rows[0]?.length ?? 0;
  const w = new Float64Array(rows.length * cols);
  for (let i = 0; i < rows.length; i++) for (let j = 0; j < cols; j++) w[i * cols + j] = rows[i][j];
  return w;
}

function dense(rows: number, cols: number, w: Float64Array, b: Float64Array | null): DenseParams {
  return { rows, cols, w, b };
}

/**
 * The initial parameters for `spec` (which must have passed `checkSpec`). Biases start at 0
 * unless given; b is null when the network has no bias. For an rnn, b_h rides on
 * `recurrentWeights` and b_y on `outputWeights` (`inputWeights.b` is null).
 */
export function initParams(spec: JobSpec): InitialParams {
  const shape = resolveShape(spec);
  const init = spec.network.init;
  const rng = new Rng(spec.seed, Stream.init);
  if (shape.kind === 'rnn') {
    const { inputDim: d, hidden: h, outputDim: o, bias } = shape;
    if (init.scheme === 'explicit') {
      if (!('recurrentWeights' in init)) throw new TypeError('rnn explicit init needs recurrentWeights');
      const bh = bias ? (init.hiddenBias ? Float64Array.from(init.hiddenBias) : new Float64Array(h)) : null;
      const by = bias ? (init.outputBias ? Float64Array.from(init.outputBias) : new Float64Array(o)) : null;
      return {
        kind: 'rnn',
        inputWeights: dense(h, d, fromNested(init.inputWeights), null),
        recurrentWeights: dense(h, h, fromNested(init.recurrentWeights), bh),
        outputWeights: dense(o, h, fromNested(init.outputWeights), by),
      };
    }
    const wxh = drawMatrix(init, h, d, rng);
    const whh = drawMatrix(init, h, h, rng);
    const why = drawMatrix(init, o, h, rng);
    return {
      kind: 'rnn',
      inputWeights: dense(h, d, wxh, null),
      recurrentWeights: dense(h, h, whh, bias ? new Float64Array(h) : null),
      outputWeights: dense(o, h, why, bias ? new Float64Array(o) : null),
    };
  }
  const layers: DenseParams[] = [];
  for (let l = 1; l <= shape.depth; l++) {
    const rows = shape.dims[l];
    const cols = shape.dims[l - 1];
    let w: Float64Array;
    let b: Float64Array | null = shape.bias ? new Float64Array(rows) : null;
    if (init.scheme === 'explicit') {
      if (!('weights' in init)) throw new TypeError('layered explicit init needs weights');
      w = fromNested(init.weights[l - 1]);
      const given = init.biases?.[l - 1];
      if (shape.bias && given) b = Float64Array.from(given);
    } else {
      w = drawMatrix(init, rows, cols, rng);
    }
    layers.push(dense(rows, cols, w, b));
  }
  return { kind: 'layered', layers };
}
