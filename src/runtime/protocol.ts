/**
 * Messages between the main thread and a worker. A record row is flat: the five scalar columns
 * after the step, then three numbers per layer, then the hidden-state norms, so a batch of n
 * records is one Float64Array of n × rowWidth numbers that moves to the main thread without a copy.
 */
import type { MessagePort } from 'node:worker_threads';
import type { NonFiniteInfo, Summary } from '../contract/events.js';
import type { JobSpec } from '../contract/spec.js';

export const SCALAR_COLUMNS = ['loss', 'gradNorm', 'clippedGradNorm', 'lr', 'paramNorm'] as const;

export interface RowShape {
  layerNames: string[];
  /** Layers with recorded columns: 0 when `record.layers` is false. */
  layerCount: number;
  /** Hidden-state norms per record (rnn with record.hiddenGradNorms), else 0. */
  hiddenLength: number;
}

export function rowWidth(shape: RowShape): number {
  return 1 + SCALAR_COLUMNS.length + 3 * shape.layerCount + shape.hiddenLength;
}

export interface WorkerTask {
  spec: JobSpec;
  port: MessagePort;
  /** Int32Array over a SharedArrayBuffer: non-zero asks the run to stop between steps. */
  stop: Int32Array;
  /** The most records the run can make (engine `estimateWork().records`). */
  maxRecords: number;
}

export interface WorkerResult {
  status: 'completed' | 'stopped';
  summary: Summary;
}

export type WorkerMessage =
  | ({ t: 'shape' } & RowShape)
  | { t: 'batch'; n: number; rows: Float64Array }
  | { t: 'nonfinite'; info: NonFiniteInfo }
  | { t: 'end' };
