/** The columnar telemetry: allocation, and its JSON forms (non-finite numbers as strings). */
import type { SeriesJson, StepEvent } from '../contract/events.js';
import { encodeNum } from '../contract/num.js';
import type { Series } from './types.js';

/**
 * Most records a run can make: every `every`-th step, plus (when every > 1) step 1, the first
 * non-finite step, and the last step run (the final step, or the one after which it stopped).
 */
export function seriesCapacity(steps: number, every: number): number {
  return every === 1 ? steps : Math.floor(steps / every) + 3;
}

export function createSeries(
  capacity: number,
  layerNames: readonly string[],
  recordLayers: boolean,
  hiddenSteps: number | null,
  backwardNorms = false,
): Series {
  const col = () => new Float64Array(capacity);
  const layers = recordLayers ? layerNames.length : 0;
  return {
    length: 0,
    layerNames: recordLayers ? [...layerNames] : [],
    steps: new Int32Array(capacity),
    loss: col(),
    gradNorm: col(),
    clippedGradNorm: col(),
    lr: col(),
    paramNorm: col(),
    layerGradNorm: Array.from({ length: layers }, col),
    layerWeightNorm: Array.from({ length: layers }, col),
    layerUpdateRatio: Array.from({ length: layers }, col),
    layerBackwardNorm: Array.from({ length: backwardNorms ? layers : 0 }, col),
    hiddenGradNorms:
      hiddenSteps === null ? null : Array.from({ length: capacity }, () => new Float64Array(hiddenSteps)),
  };
}

function encodeColumn(x: Float64Array, n: number): SeriesJson['loss'] {
  const out = new Array(n);
  for (let i = 0; i < n; i++) out[i] = encodeNum(x[i]);
  return out;
}

/** The filled part of `series` as the contract's columnar JSON. */
export function seriesToJson(series: Series): SeriesJson {
  const n = series.length;
  const json: SeriesJson = {
    steps: Array.from(series.steps.subarray(0, n)),
    loss: encodeColumn(series.loss, n),
    gradNorm: encodeColumn(series.gradNorm, n),
    clippedGradNorm: encodeColumn(series.clippedGradNorm, n),
    lr: encodeColumn(series.lr, n),
    paramNorm: encodeColumn(series.paramNorm, n),
    layers: series.layerNames.map((name, l) => {
      const layer: SeriesJson['layers'][number] = {
        name,
        gradNorm: encodeColumn(series.layerGradNorm[l], n),
        weightNorm: encodeColumn(series.layerWeightNorm[l], n),
        updateRatio: encodeColumn(series.layerUpdateRatio[l], n),
      };
      const backward = series.layerBackwardNorm[l];
      if (backward) layer.backwardNorm = encodeColumn(backward, n);
      return layer;
    }),
  };
  if (series.hiddenGradNorms) {
    json.hiddenGradNorms = series.hiddenGradNorms.slice(0, n).map((row) => encodeColumn(row, row.length));
  }
  return json;
}

/** Record `index` as a step event (the caller adds `seq`). */
export function stepEventAt(series: Series, index: number): Omit<StepEvent, 'seq'> {
  const i = index;
  const event: Omit<StepEvent, 'seq'> = {
    type: 'step',
    step: series.steps[i],
    loss: encodeNum(series.loss[i]),
    gradNorm: encodeNum(series.gradNorm[i]),
    clippedGradNorm: encodeNum(series.clippedGradNorm[i]),
    lr: encodeNum(series.lr[i]),
    paramNorm: encodeNum(series.paramNorm[i]),
    layers: series.layerNames.map((_, l) => {
      const layer: StepEvent['layers'][number] = {
        gradNorm: encodeNum(series.layerGradNorm[l][i]),
        weightNorm: encodeNum(series.layerWeightNorm[l][i]),
        updateRatio: encodeNum(series.layerUpdateRatio[l][i]),
      };
      const backward = series.layerBackwardNorm[l];
      if (backward) layer.backwardNorm = encodeNum(backward[i]);
      return layer;
    }),
  };
  if (series.hiddenGradNorms) {
    const row = series.hiddenGradNorms[i];
    event.hiddenGradNorms = encodeColumn(row, row.length);
  }
  return event;
}
