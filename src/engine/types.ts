/**
 * The engine's public interface. Everything the runtime, the CLI and the benchmarks use from the
 * engine goes through these types and `simulate` / `checkSpec` / `estimateWork` / `analyze`.
 * The engine never imports zod: it takes an already-parsed JobSpec (every default filled).
 */
import type { NonFiniteInfo, Summary } from '../contract/events.js';

export type { NonFiniteInfo, Summary };

/**
 * Columnar telemetry: column i of every array belongs to recorded step `steps[i]`.
 * Arrays are allocated once for the largest possible number of records; `length` says how many
 * are filled.
 */
export interface Series {
  length: number;
  readonly layerNames: readonly string[];
  readonly steps: Int32Array;
  readonly loss: Float64Array;
  readonly gradNorm: Float64Array;
  readonly clippedGradNorm: Float64Array;
  readonly lr: Float64Array;
  readonly paramNorm: Float64Array;
  /** One column per layer (empty when record.layers is false). */
  readonly layerGradNorm: Float64Array[];
  readonly layerWeightNorm: Float64Array[];
  readonly layerUpdateRatio: Float64Array[];
  /**
   * linear, mlp: one column per layer, ‖∂L/∂z_l‖ (z_l = the layer's pre-activation). Empty for an rnn,
   * when record.layers is false, and in results stored before the column existed.
   */
  readonly layerBackwardNorm: Float64Array[];
  /** rnn with record.hiddenGradNorms: row i holds ‖∂L/∂h_t‖, t = 1..T, for record i. */
  readonly hiddenGradNorms: Float64Array[] | null;
}

export interface SimulationHooks {
  /** Called after each recorded step; read `series` at `index`. Must not keep `series` rows past the run. */
  onRecord?(series: Series, index: number): void;
  /** Called once, at the first non-finite value (after the onRecord of that step). */
  onNonFinite?(info: NonFiniteInfo): void;
  /** Checked between steps; returning true stops the run cleanly. */
  shouldStop?(): boolean;
}

export interface SimulationOutput {
  series: Series;
  summary: Summary;
  /** 'completed': ran every step or stopped at a non-finite value by policy; 'stopped': shouldStop said so. */
  status: 'completed' | 'stopped';
}

/** A problem with a spec that is valid JSON but impossible (422). */
export interface SpecIssue {
  path: (string | number)[];
  message: string;
}

/** Row-major dense parameters: `w` is [rows][cols] (rows = outputs), `b` has `rows` entries or is null. */
export interface DenseParams {
  rows: number;
  cols: number;
  w: Float64Array;
  b: Float64Array | null;
}

/** Weights at initialization, as `initParams(spec)` draws them from the seed (the same draw `simulate` starts from). */
export type InitialParams =
  | { kind: 'layered'; layers: DenseParams[] }
  | { kind: 'rnn'; inputWeights: DenseParams; recurrentWeights: DenseParams; outputWeights: DenseParams };

/**
 * The functions src/engine/index.ts exports (each in its own module):
 * - `simulate(spec: JobSpec, hooks?: SimulationHooks): SimulationOutput` — never throws for a spec that
 *   passed the schema and `checkSpec`; a diverging run is a normal outcome.
 * - `checkSpec(spec: JobSpec): SpecIssue[]` — cross-field problems (explicit shapes, featureScales length,
 *   explicit data shapes, batch-norm on rnn); empty when the spec can run.
 * - `estimateWork(spec: JobSpec): WorkEstimate` — for the service's size budget.
 * - `initParams(spec: JobSpec): InitialParams`.
 * - `seriesToJson(series: Series): SeriesJson` and `stepEventAt(series, index): Omit<StepEvent, 'seq'>`,
 *   non-finite numbers encoded as strings (contract/events.ts `encodeNum`).
 * - `analyze(request: AnalysisRequest): AnalysisResult` (src/engine/analysis, the only ml-matrix user).
 */
export interface WorkEstimate {
  /** Floating-point operations for the whole run (forward + backward + update), roughly. */
  flops: number;
  /** Bytes of parameters, activations and recorded series the run will hold. */
  bytes: number;
  /** Number of records the series will hold at most. */
  records: number;
  /** Bytes of the recorded series at most (what the store keeps of an ended job, besides its row). */
  seriesBytes: number;
}
