/**
 * Thread body of recompute.ts: runs one job's spec through the engine, stopping after the step the
 * stored job stopped at, and posts the series in the stored layout (telemetry.ts SeriesBlob).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { NonFiniteInfo } from '../../contract/events.js';
import type { JobSpec } from '../../contract/spec.js';
import { simulate } from '../../engine/index.js';
import { layerColumns, type RowShape, SCALAR_COLUMNS } from '../protocol.js';

const { spec, stopAfter } = workerData as { spec: JobSpec; stopAfter: number | null };

let calls = 0;
let lastRecord = -1;
let nonFinite: { info: NonFiniteInfo; afterRecord: number } | null = null;
const out = simulate(spec, {
  onRecord: (_s, i) => {
    lastRecord = i;
  },
  // As the service marks it: after the record of the step that went non-finite.
  onNonFinite: (info) => {
    nonFinite = { info, afterRecord: lastRecord };
  },
  // The engine asks once per step before the last; the stored job stopped after step `stopAfter`.
  shouldStop: stopAfter === null ? undefined : () => ++calls >= stopAfter,
});
const s = out.series;
const n = s.length;
const layerCount = s.layerGradNorm.length;
const hiddenLength = n > 0 ? (s.hiddenGradNorms?.[0]?.length ?? 0) : 0;
// The worker's layout (worker.ts): per layer grad, weight, ratio, then the backward norm when recorded.
const shape: RowShape = {
  layerNames: [...s.layerNames],
  layerCount,
  hiddenLength,
  backwardNorms: s.layerBackwardNorm.length > 0,
};
const columns = [
  s.loss,
  s.gradNorm,
  s.clippedGradNorm,
  s.lr,
  s.paramNorm,
  ...Array.from({ length: layerCount }, (_, l) =>
    shape.backwardNorms
      ? [s.layerGradNorm[l], s.layerWeightNorm[l], s.layerUpdateRatio[l], s.layerBackwardNorm[l]]
      : [s.layerGradNorm[l], s.layerWeightNorm[l], s.layerUpdateRatio[l]],
  ).flat(),
];
if (columns.length !== SCALAR_COLUMNS.length + layerColumns(shape) * layerCount)
  throw new Error('column layout changed');
const values = new Float64Array(columns.length * n);
for (let k = 0; k < columns.length; k++) values.set(columns[k].subarray(0, n), k * n);
const hidden = new Float64Array(n * hiddenLength);
for (let i = 0; i < n && hiddenLength > 0; i++)
  hidden.set(s.hiddenGradNorms![i].subarray(0, hiddenLength), i * hiddenLength);
const steps = s.steps.slice(0, n);
parentPort!.postMessage(
  {
    shape,
    length: n,
    steps,
    values,
    hidden,
    nonFinite,
    summary: out.summary,
  },
  [steps.buffer, values.buffer, hidden.buffer] as ArrayBuffer[],
);
