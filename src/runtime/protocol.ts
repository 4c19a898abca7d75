/**
 * Messages between the main thread and a worker. A record is the step, the five scalar columns,
 * three numbers per recorded layer (four with backward norms) and the hidden-state norms: rowWidth numbers. A batch of n
 * records travels in column order (telemetry.ts ColumnChunk), its buffers moved, not copied.
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
  /**
   * Each recorded layer has a fourth column, ‖∂L/∂z_l‖ (linear and mlp). Absent (false) in results
   * stored before the column existed: they read back without it.
   */
  backwardNorms?: boolean;
}

/** Columns per recorded layer: grad, weight, ratio, and the backward norm when recorded (in that order). */
export function layerColumns(shape: RowShape): number {
  return shape.backwardNorms ? 4 : 3;
}

export function rowWidth(shape: RowShape): number {
  return 1 + SCALAR_COLUMNS.length + layerColumns(shape) * shape.layerCount + shape.hiddenLength;
}

/** One job of a task. */
export interface WorkerJob {
  spec: JobSpec;
  /** The job's recorded kernels (types.ts EngineKernels). */
  kernels: 'exact' | 'fma';
  /**
   * Stop after this many steps, as a stop request would have (a recomputed series of a job that
   * was cancelled while it ran, recompute.ts); absent: run to the end.
   */
  stopAfterStep?: number;
}

/**
 * A task is a batch of jobs that one worker runs one after another (small jobs travel together so
 * that a thread never waits on the main thread between them; a large job travels alone).
 */
export interface WorkerTask {
  jobs: WorkerJob[];
  port: MessagePort;
  /**
   * Int32Array over a SharedArrayBuffer of 1 + jobs.length slots. Slot 0 non-zero: hand back the
   * jobs not started yet (another lane has work waiting). Slot 1 + j holds job j's state:
   * WAITING, then either CLAIMED by the worker as it starts the job, or STOP. The worker claims a
   * job (j > 0) and the main thread withdraws one with compare-and-exchange from WAITING, so exactly
   * one of them wins: a withdrawn job never runs, and a claimed one is stopped between steps.
   */
  flags: Int32Array;
}

/** Flag slot of job j in WorkerTask.flags. */
export const stopSlot = (j: number): number => 1 + j;
export const YIELD_SLOT = 0;
/** Job states in a stop slot. */
export const WAITING = 0;
export const STOP = 1;
export const CLAIMED = 2;

/** What a task returns: how many of its jobs it reported as ended, skipped or failed. */
export interface WorkerResult {
  reported: number;
}

/** Every message names the job it is about by its index `j` in the task. */
export type WorkerMessage =
  | { t: 'start'; j: number }
  | ({ t: 'shape'; j: number } & RowShape)
  /** n records in column order (telemetry.ts ColumnChunk); the buffers are transferred. */
  | { t: 'batch'; j: number; n: number; steps: Int32Array; values: Float64Array; hidden: Float64Array }
  | { t: 'nonfinite'; j: number; info: NonFiniteInfo }
  | { t: 'end'; j: number; status: 'completed' | 'stopped'; summary: Summary }
  /** The job threw inside the worker (the thread lives on; the batch goes on). */
  | { t: 'fail'; j: number; message: string }
  /** The job was withdrawn (STOP) before the worker could claim it: it never ran. */
  | { t: 'skip'; j: number }
  /** Jobs j, j + 1, … were not started and go back to the queue. */
  | { t: 'yield'; j: number }
  /** The task's last message (j = −1). */
  | { t: 'fin'; j: number };
