/**
 * Training data: the synthetic tasks (documented in docs/engine.md) or the spec's explicit arrays,
 * flattened sample-major: x is [n][T][inputDim] (T = 1 for linear/mlp), y is [n][outputDim].
 */
import type { JobSpec } from '../contract/spec.js';
import { Rng, Stream } from './rng.js';
import { ioDims, type Shape } from './shape.js';

export interface Dataset {
  n: number;
  seqLength: number;
  inputDim: number;
  outputDim: number;
  x: Float64Array;
  y: Float64Array;
}

export function buildDataset(spec: JobSpec, shape: Shape): Dataset {
  const { inputDim: d, outputDim: o } = ioDims(shape);
  const t = shape.kind === 'rnn' ? shape.seqLength : 1;
  const data = spec.data;
  if (data.kind === 'explicit') {
    const n = data.inputs.length;
    const x = new Float64Array(n * t * d);
    const y = new Float64Array(n * o);
    for (let s = 0; s < n; s++) {
      const row = data.inputs[s];
      if (shape.kind === 'rnn') {
        const seq = row as number[][];
        for (let k = 0; k < t; k++) for (let j = 0; j < d; j++) x[(s * t + k) * d + j] = seq[k][j];
      } else {
        const vec = row as number[];
        for (let j = 0; j < d; j++) x[s * d + j] = vec[j];
      }
      for (let j = 0; j < o; j++) y[s * o + j] = data.targets[s][j];
    }
    return { n, seqLength: t, inputDim: d, outputDim: o, x, y };
  }

  // Synthetic: standardized features z ~ N(0, 1); the network sees x = z · featureScales[j]; a
  // fixed linear teacher reads z (for an rnn, z at t = 1 only), so the task is equally easy at
  // every scale once inputs are standardized, and ill-conditioned when they are not.
  const n = data.samples;
  const scales = data.featureScales ?? [];
  const rngX = new Rng(spec.seed, Stream.data);
  const rngT = new Rng(spec.seed, Stream.teacher);
  const z = new Float64Array(n * t * d);
  for (let i = 0; i < z.length; i++) z[i] = rngX.normal();
  const x = new Float64Array(n * t * d);
  for (let i = 0; i < z.length; i++) x[i] = z[i] * (scales[i % d] ?? 1);
  const teacher = new Float64Array(o * d);
  const teacherStd = 1 / Math.sqrt(d);
  for (let i = 0; i < teacher.length; i++) teacher[i] = teacherStd * rngT.normal();
  const y = new Float64Array(n * o);
  for (let s = 0; s < n; s++) {
    const z1 = s * t * d;
    for (let k = 0; k < o; k++) {
      let v = 0;
      for (let j = 0; j < d; j++) v += teacher[k * d + j] * z[z1 + j];
      y[s * o + k] = v + data.noise * rngX.normal();
    }
  }
  return { n, seqLength: t, inputDim: d, outputDim: o, x, y };
}

/** input-normalization: each feature to mean 0 and (biased) std 1 over samples (and time). */
/**
 * The loss of the best constant predictor (each output's mean): the mean over outputs of the
 * targets' biased variance. A model that does not beat it has learned nothing about the inputs.
 */
export function baselineLoss(ds: Dataset): number {
  const { n, outputDim: o, y } = ds;
  let total = 0;
  for (let j = 0; j < o; j++) {
    let mean = 0;
    for (let s = 0; s < n; s++) mean += y[s * o + j];
    mean /= n;
    let ss = 0;
    for (let s = 0; s < n; s++) {
      const d = y[s * o + j] - mean;
      ss += d * d;
    }
    total += ss / n;
  }
  return total / o;
}

export function standardizeInputs(ds: Dataset): void {
  const { x, inputDim: d } = ds;
  const rows = x.length / d;
  for (let j = 0; j < d; j++) {
    let mean = 0;
    for (let r = 0; r < rows; r++) mean += x[r * d + j];
    mean /= rows;
    let variance = 0;
    for (let r = 0; r < rows; r++) {
      const c = x[r * d + j] - mean;
      variance += c * c;
    }
    variance /= rows;
    // A constant feature carries no information; centring it is all that standardizing can do.
    const std = variance > 0 ? Math.sqrt(variance) : 1;
    for (let r = 0; r < rows; r++) x[r * d + j] = (x[r * d + j] - mean) / std;
  }
}

/**
 * Minibatch order: a fresh seeded permutation per epoch, consecutive slices of `batch` samples,
 * an incomplete tail dropped (so every batch has distinct samples and the same size). With
 * batch ≥ n every step sees the whole data set in its original order.
 */
export class Batcher {
  readonly batch: number;
  readonly full: boolean;
  private readonly perm: Int32Array;
  private pos: number;
  private readonly rng: Rng;

  constructor(
    readonly n: number,
    batchSize: number,
    seed: number,
  ) {
    this.full = batchSize >= n;
    this.batch = Math.min(batchSize, n);
    this.perm = new Int32Array(n);
    this.rng = new Rng(seed, Stream.batches);
    this.pos = n;
  }

  /** Writes the next batch's sample indices into `out` (length ≥ batch). */
  next(out: Int32Array): void {
    if (this.full) {
      for (let i = 0; i < this.batch; i++) out[i] = i;
      return;
    }
    if (this.pos + this.batch > this.n) {
      this.rng.permutation(this.perm, this.n);
      this.pos = 0;
    }
    for (let i = 0; i < this.batch; i++) out[i] = this.perm[this.pos + i];
    this.pos += this.batch;
  }
}
