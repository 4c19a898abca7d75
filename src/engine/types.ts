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
