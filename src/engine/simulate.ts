/**
 * The training loop: one step = forward, backward, record loss and pre-clip norms, mitigations in
 * the order given, update. Everything it touches is allocated before the first step. The pieces
 * live beside it: gradient norms (norms.ts), clipping (clip.ts), the optimizers and their state
 * (optimizer.ts), locating a non-finite value (nonfinite.ts).
 */
import type { JobSpec } from '../contract/spec.js';
import { type Backend, defaultBackend } from './backend.js';
import { CLIP_NONE, clipsOf, GradientClipper } from './clip.js';
import { Batcher, baselineLoss, buildDataset, standardizeInputs } from './data.js';
import { initParams } from './init.js';
import { createModel, type Model } from './model.js';
import { locateNonFinite } from './nonfinite.js';
import { globalNorm, SegmentSquares, segmentTable } from './norms.js';
import { rootOf, roundF32 } from './ops.js';
import { createOptimizer } from './optimizer.js';
import { learningRateAt, scheduleOf } from './schedule.js';
import { createSeries, seriesCapacity } from './series.js';
import { layerNames, resolveShape } from './shape.js';
import { summarize } from './summary.js';
import type { NonFiniteInfo, SimulationHooks, SimulationOutput } from './types.js';

export { CLIP_NORM_EPS } from './clip.js';

export interface SimulateOptions {
  /** Kernels and buffers (default: `defaultBackend()`). */
  backend?: Backend;
}

/**
 * Trains `spec` (parsed by the JobSpec schema and accepted by `checkSpec`). Never throws for such
 * a spec; non-finite values and divergence are outcomes.
 */
export function simulate(spec: JobSpec, hooks: SimulationHooks = {}, options: SimulateOptions = {}): SimulationOutput {
  const backend = options.backend ?? defaultBackend();
  const shape = resolveShape(spec);
  const names = layerNames(shape);
  const training = spec.training;
  const f32 = training.dtype === 'float32';
  const steps = training.steps;
  const every = spec.record.every;

  const data = buildDataset(spec, shape);
  if (spec.mitigations.some((m) => m.kind === 'input-normalization')) standardizeInputs(data);
  if (f32) {
    roundF32(data.x, 0, data.x.length);
    roundF32(data.y, 0, data.y.length);
  }
  const batcher = new Batcher(data.n, training.batchSize, spec.seed);
  const model: Model = createModel(shape, batcher.batch, initParams(spec), backend, f32);
  const idx = new Int32Array(batcher.batch);
  if (batcher.full) {
    batcher.next(idx);
    model.loadBatch(data.x, data.y, idx);
  }

  const { params, grads, weightSegments } = model;
  const table = segmentTable(model.segments);
  const gradSq = new Float64Array(table.count);
  const paramSq = new Float64Array(table.count);
  const deltaSq = new Float64Array(table.count);
  const clipSq = new Float64Array(table.count);
  const gradSquares = new SegmentSquares(grads, table, backend.kernels, f32);
  const clipper = new GradientClipper(clipsOf(spec.mitigations), grads, table, f32);
  const optimizer = createOptimizer(training.optimizer, f32, {
    params,
    grads,
    table,
    kernels: backend.kernels,
    deltaSq,
    paramSq,
    clipSq,
  });
  const schedule = scheduleOf(spec);
  const layerGradNorm = new Float64Array(names.length);

  const recordLayers = spec.record.layers;
  const hidden = shape.kind === 'rnn' && spec.record.hiddenGradNorms ? shape.seqLength : null;
  const series = createSeries(seriesCapacity(steps, every), names, recordLayers, hidden, model.hasBackwardNorms);
  const backwardNorm = new Float64Array(model.hasBackwardNorms ? names.length : 0);

  let nonFinite: NonFiniteInfo | null = null;
  let firstGradNorm = Number.NaN;
  let backwardGain = Number.NaN;
  let layerGradRatio: number | null = null;
  let stepsRun = 0;
  // How often clipping acted, over every step (summary.mitigation.clipping).
  let stepsClipped = 0;
  let maxClipFactor = 1;
  let stoppedByHook = false;
  let stoppedEarly = false;

  for (let step = 1; step <= steps; step++) {
    if (!batcher.full) {
      batcher.next(idx);
      model.loadBatch(data.x, data.y, idx);
    }
    const loss = model.forward();
    // ‖∂L/∂h_t‖ is read at step 1 (the backward gain) and when the series records it.
    model.measureHidden = step === 1 || hidden !== null;
    model.backward();

    gradSquares.fill(gradSq);
    const gradNorm = globalNorm(gradSq, f32);
    for (let l = 0; l < names.length; l++) layerGradNorm[l] = rootOf(gradSq[weightSegments[l]], f32);
    if (step === 1) {
      firstGradNorm = gradNorm;
      backwardGain = model.backwardGain;
      layerGradRatio = layerGradNorm[0] / layerGradNorm[names.length - 1];
    }

    let clippedNorm = clipper.apply(gradNorm);
    const lr = learningRateAt(schedule, step);
    optimizer.update(step, lr, clipper.fuseMode, clipper.fuseBy);
    // The update pass applied the last clip (float64) and measured the result into clipSq.
    if (clipper.fuseMode !== CLIP_NONE) clippedNorm = globalNorm(clipSq, f32);
    const paramNorm = globalNorm(paramSq, f32);
    if (clippedNorm < gradNorm) {
      stepsClipped++;
      const factor = gradNorm / clippedNorm;
      if (factor > maxClipFactor) maxClipFactor = factor;
    }

    stepsRun = step;
    let faultNow = false;
    // A non-finite entry or overflowing square makes a probe non-finite; only then search.
    if (nonFinite === null && !(model.activationProbe === 0 && Number.isFinite(loss + gradNorm + paramNorm))) {
      nonFinite = locateNonFinite(model, table, names, f32, { step, loss, gradNorm, paramNorm, gradSq, paramSq });
      faultNow = nonFinite !== null;
    }
    const stopForFault = faultNow && training.stopOnNonFinite;
    const stopForHook = !stopForFault && step < steps && hooks.shouldStop?.() === true;

    if (step === 1 || step % every === 0 || step === steps || faultNow || stopForFault || stopForHook) {
      const i = series.length;
      series.steps[i] = step;
      series.loss[i] = loss;
      series.gradNorm[i] = gradNorm;
      series.clippedGradNorm[i] = clippedNorm;
      series.lr[i] = lr;
      series.paramNorm[i] = paramNorm;
      if (recordLayers) {
        // Per layer: the weight gradient's norm, the weight's norm, ‖ΔW‖/‖W‖ (inline: a call here
        // costs W1 a measurable share of its ~6 µs steps).
        for (let l = 0; l < names.length; l++) {
          const s = weightSegments[l];
          const w = rootOf(paramSq[s], f32);
          const d = rootOf(deltaSq[s], f32);
          series.layerGradNorm[l][i] = layerGradNorm[l];
          series.layerWeightNorm[l][i] = w;
          series.layerUpdateRatio[l][i] = d === 0 ? 0 : d / w;
        }
        if (model.hasBackwardNorms) {
          model.backwardNorms(backwardNorm);
          for (let l = 0; l < backwardNorm.length; l++) series.layerBackwardNorm[l][i] = backwardNorm[l];
        }
      }
      if (series.hiddenGradNorms && model.hiddenGradNorms) series.hiddenGradNorms[i].set(model.hiddenGradNorms);
      series.length = i + 1;
      hooks.onRecord?.(series, i);
    }
    if (faultNow && nonFinite) hooks.onNonFinite?.(nonFinite);
    if (stopForFault || stopForHook) {
      stoppedByHook = stopForHook;
      stoppedEarly = step < steps;
      break;
    }
  }

  // The model's tensors are dead from here on (series and summary live elsewhere).
  backend.releaseBuffer?.(params.buffer as ArrayBuffer);

  const net = spec.network;
  const identityLinear = net.kind === 'linear' && net.init.scheme === 'scaled-identity';
  const gain = identityLinear && 'gain' in net.init ? net.init.gain : 0;
  const summary = summarize({
    series,
    stepsRun,
    stopped: stoppedEarly,
    nonFinite,
    baselineLoss: baselineLoss(data),
    firstGradNorm,
    layerGradRatio,
    backwardGain,
    predictedForwardGain: identityLinear ? gain ** net.depth : null,
    predictedLayerGradFactor: identityLinear ? gain ** (net.depth - 1) : null,
    clipping: clipper.active ? { stepsClipped, maxFactor: maxClipFactor } : null,
  });
  return { series, summary, status: stoppedByHook ? 'stopped' : 'completed' };
}
