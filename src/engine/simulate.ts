/**
 * The training loop: one step = forward, backward, record loss and pre-clip norms, mitigations in
 * the order given, update. Everything it touches is allocated before the first step.
 */
import { encodeNum } from '../contract/events.js';
import type { JobSpec } from '../contract/spec.js';
import { type Backend, defaultBackend } from './backend.js';
import { Batcher, baselineLoss, buildDataset, standardizeInputs } from './data.js';
import { initParams } from './init.js';
import { SGD_CLAMP, SGD_PLAIN, SGD_SCALE, type SgdMode } from './kernels.js';
import { createModel, type Model } from './model.js';
import { firstNonFinite, rootOf, roundF32, sumSq } from './ops.js';
import { learningRateAt, scheduleOf } from './schedule.js';
import { createSeries, seriesCapacity } from './series.js';
import { layerNames, resolveShape } from './shape.js';
import { summarize } from './summary.js';
import type { NonFiniteInfo, SimulationHooks, SimulationOutput } from './types.js';

/** torch.nn.utils.clip_grad_norm_ adds this to the norm before dividing. */
export const CLIP_NORM_EPS = 1e-6;
const MOMENTUM = 0.9;
const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;
const ADAM_EPS = 1e-8;

export interface SimulateOptions {
  /** Kernels and buffers (default: `defaultBackend()`). */
  backend?: Backend;
}

function faultAt(
  step: number,
  tensor: NonFiniteInfo['tensor'],
  layer: string | null,
  where: string,
  value: number,
): NonFiniteInfo {
  return { step, tensor, layer, where, value: encodeNum(value) };
}

/** How updateF64 transforms each gradient first: not at all, g·fuseBy, or clamped to ±fuseBy. */
const FUSE_NONE = SGD_PLAIN;
const FUSE_SCALE = SGD_SCALE;
const FUSE_CLAMP = SGD_CLAMP;

type Clip = { kind: 'clip-norm'; value: number } | { kind: 'clip-value'; value: number };

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

  const { params, grads, segments, weightSegments } = model;
  const nParams = params.length;
  const nSeg = segments.length;
  const segOff = Int32Array.from(segments, (s) => s.offset);
  const segEnd = Int32Array.from(segments, (s) => s.offset + s.length);
  const gradSq = new Float64Array(nSeg);
  const paramSq = new Float64Array(nSeg);
  const deltaSq = new Float64Array(nSeg);
  const clipSq = new Float64Array(nSeg);
  const kernels = backend.kernels;
  const paramSeg = segments.map((g) => params.subarray(g.offset, g.offset + g.length));
  const gradSeg = segments.map((g) => grads.subarray(g.offset, g.offset + g.length));
  const sums = new Float64Array(3);
  // Segments longest first, for fillSq's groups of four.
  const bySize = Int32Array.from(segments, (_, i) => i).sort((a, b) => segments[b].length - segments[a].length);
  const layerGradNorm = new Float64Array(names.length);
  const optimizer = training.optimizer;
  const m1 = optimizer === 'sgd' ? null : new Float64Array(nParams);
  const m2 = optimizer === 'adam' ? new Float64Array(nParams) : null;
  const clips: Clip[] = [];
  for (const m of spec.mitigations) {
    if (m.kind === 'clip-norm') clips.push({ kind: 'clip-norm', value: m.maxNorm });
    else if (m.kind === 'clip-value') clips.push({ kind: 'clip-value', value: m.maxValue });
  }
  const schedule = scheduleOf(spec);

  const recordLayers = spec.record.layers;
  const hidden = shape.kind === 'rnn' && spec.record.hiddenGradNorms ? shape.seqLength : null;
  const series = createSeries(seriesCapacity(steps, every), names, recordLayers, hidden);

  const norm = (sq: Float64Array) => {
    // float32 follows clip_grad_norm_: the norm of the per-tensor norms; float64 sums squares.
    let s = 0;
    if (f32) {
      for (let i = 0; i < nSeg; i++) {
        const r = Math.fround(Math.sqrt(sq[i]));
        s = Math.fround(s + Math.fround(r * r));
      }
      return Math.fround(Math.sqrt(s));
    }
    for (let i = 0; i < nSeg; i++) s += sq[i];
    return Math.sqrt(s);
  };
  // float64 gradient norms: segments of equal length eight at a time through the sumSq8 kernel
  // (eight dependency chains side by side), the others four at a time below; every sum still runs
  // from +0 in increasing index.
  const groups8: { n: number; segs: number[]; views: Float64Array[] }[] = [];
  const restList: number[] = [];
  for (let g = 0; g < nSeg; ) {
    const n = segments[bySize[g]].length;
    // bySize is sorted by length, so eight in a row are equal when the first and the last are.
    if (g + 8 <= nSeg && segments[bySize[g + 7]].length === n) {
      const segs = Array.from(bySize.subarray(g, g + 8));
      groups8.push({ n, segs, views: segs.map((i) => grads.subarray(segOff[i], segEnd[i])) });
      g += 8;
    } else restList.push(bySize[g++]);
  }
  const rest = Int32Array.from(restList);
  const nRest = rest.length;
  const sq8 = new Float64Array(8);
  const fillGradSq = (sq: Float64Array) => {
    const x = grads;
    if (f32) {
      for (let i = 0; i < nSeg; i++) sq[i] = sumSq(x, segOff[i], segEnd[i] - segOff[i], f32);
      return;
    }
    for (const group of groups8) {
      kernels.sumSq8(group.n, group.views, sq8);
      for (let k = 0; k < 8; k++) sq[group.segs[k]] = sq8[k];
    }
    let g = 0;
    for (; g + 4 <= nRest; g += 4) {
      const s0 = rest[g];
      const s1 = rest[g + 1];
      const s2 = rest[g + 2];
      const s3 = rest[g + 3];
      const o0 = segOff[s0];
      const o1 = segOff[s1];
      const o2 = segOff[s2];
      const o3 = segOff[s3];
      const n = segEnd[s3] - o3;
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      for (let i = 0; i < n; i++) {
        const x0 = x[o0 + i];
        const x1 = x[o1 + i];
        const x2 = x[o2 + i];
        const x3 = x[o3 + i];
        a0 += x0 * x0;
        a1 += x1 * x1;
        a2 += x2 * x2;
        a3 += x3 * x3;
      }
      for (let i = o0 + n, e = segEnd[s0]; i < e; i++) a0 += x[i] * x[i];
      for (let i = o1 + n, e = segEnd[s1]; i < e; i++) a1 += x[i] * x[i];
      for (let i = o2 + n, e = segEnd[s2]; i < e; i++) a2 += x[i] * x[i];
      sq[s0] = a0;
      sq[s1] = a1;
      sq[s2] = a2;
      sq[s3] = a3;
    }
    for (; g < nRest; g++) {
      const i = rest[g];
      sq[i] = sumSq(x, segOff[i], segEnd[i] - segOff[i], f32);
    }
  };

  /** Scales every gradient by `c` (c > 0) or clamps it to [−v, v] (`clamp_`: NaN stays NaN); fills deltaSq. */
  const clipBy = (c: number, v: number) => {
    for (let s = 0; s < nSeg; s++) {
      let acc = 0;
      const end = segEnd[s];
      for (let i = segOff[s]; i < end; i++) {
        let g = grads[i];
        if (c > 0) g = f32 ? Math.fround(g * c) : g * c;
        else g = Math.min(v, Math.max(-v, g));
        grads[i] = g;
        acc = f32 ? Math.fround(acc + Math.fround(g * g)) : acc + g * g;
      }
      deltaSq[s] = acc;
    }
    return deltaSq;
  };

  let nonFinite: NonFiniteInfo | null = null;
  let firstGradNorm = Number.NaN;
  let backwardGain = Number.NaN;
  let layerGradRatio: number | null = null;
  let stepsRun = 0;
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

    fillGradSq(gradSq);
    const gradNorm = norm(gradSq);
    for (let l = 0; l < names.length; l++) layerGradNorm[l] = rootOf(gradSq[weightSegments[l]], f32);
    if (step === 1) {
      firstGradNorm = gradNorm;
      backwardGain = model.backwardGain;
      layerGradRatio = layerGradNorm[0] / layerGradNorm[names.length - 1];
    }

    let clippedNorm = gradNorm;
    // In float64 the last clip is applied by the update pass itself (FUSE_SCALE multiplies each
    // gradient by `fuseBy`, FUSE_CLAMP clamps it to ±fuseBy), which also measures it into clipSq.
    let fuseMode = FUSE_NONE;
    let fuseBy = 0;
    for (let c = 0; c < clips.length; c++) {
      const clip = clips[c];
      const fuse = !f32 && c === clips.length - 1;
      // Each clip rescales or clamps and re-measures in one pass; deltaSq is scratch until the update.
      if (clip.kind === 'clip-norm') {
        const coef = clip.value / (clippedNorm + CLIP_NORM_EPS);
        // coef = 0 (an infinite norm) goes through clipBy, which then clamps to ±0.
        if (coef < 1) {
          if (fuse && coef > 0) {
            fuseMode = FUSE_SCALE;
            fuseBy = coef;
          } else clippedNorm = norm(clipBy(f32 ? Math.fround(coef) : coef, 0));
        }
      } else if (fuse) {
        fuseMode = FUSE_CLAMP;
        fuseBy = clip.value;
      } else {
        clippedNorm = norm(clipBy(0, clip.value));
      }
    }

    const lr = learningRateAt(schedule, step);
    if (f32) updateF32(optimizer, step, Math.fround(lr));
    else updateF64(optimizer, step, lr, fuseMode, fuseBy);
    if (fuseMode !== FUSE_NONE) clippedNorm = norm(clipSq);
    const paramNorm = norm(paramSq);

    stepsRun = step;
    let faultNow = false;
    // A non-finite entry or overflowing square makes one of these four non-finite; only then search.
    if (nonFinite === null && !(model.activationProbe === 0 && Number.isFinite(loss + gradNorm + paramNorm))) {
      nonFinite = findNonFinite(step, loss, gradNorm, paramNorm);
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
        for (let l = 0; l < names.length; l++) {
          const s = weightSegments[l];
          const w = rootOf(paramSq[s], f32);
          const d = rootOf(deltaSq[s], f32);
          series.layerGradNorm[l][i] = layerGradNorm[l];
          series.layerWeightNorm[l][i] = w;
          series.layerUpdateRatio[l][i] = d === 0 ? 0 : d / w;
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
  });
  return { series, summary, status: stoppedByHook ? 'stopped' : 'completed' };

  function findNonFinite(step: number, loss: number, gradNorm: number, paramNorm: number): NonFiniteInfo | null {
    const info = (tensor: NonFiniteInfo['tensor'], layer: string | null, where: string, value: number) =>
      faultAt(step, tensor, layer, where, value);
    if (Number.isNaN(model.activationProbe)) {
      const a = model.locateActivation();
      if (a) return info('activation', a.layer, a.where, a.value);
    }
    if (!Number.isFinite(loss)) return info('loss', null, 'loss', loss);
    for (let s = 0; s < nSeg; s++) {
      if (Number.isFinite(gradSq[s])) continue;
      const seg = segments[s];
      const i = firstNonFinite(grads, segOff[s], seg.length);
      if (i >= 0) return info('gradient', names[seg.layer], `gradient of ${seg.name}`, grads[i]);
      return info('norm', names[seg.layer], `norm: gradient norm of ${seg.name}`, rootOf(gradSq[s], f32));
    }
    if (!Number.isFinite(gradNorm)) return info('norm', null, 'norm: global gradient norm', gradNorm);
    for (let s = 0; s < nSeg; s++) {
      if (Number.isFinite(paramSq[s])) continue;
      const seg = segments[s];
      const i = firstNonFinite(params, segOff[s], seg.length);
      if (i >= 0) return info('weight', names[seg.layer], `weight ${seg.name} after the update`, params[i]);
      return info('norm', names[seg.layer], `norm: weight norm of ${seg.name}`, rootOf(paramSq[s], f32));
    }
    if (!Number.isFinite(paramNorm)) return info('norm', null, 'norm: parameter norm', paramNorm);
    return null;
  }

  // PyTorch's update rules, in PyTorch's order of operations (torch.optim.SGD, torch.optim.Adam).
  // The same pass collects ‖Δp‖² (deltaSq, for the update ratio) and ‖p‖² (paramSq) per segment.
  function updateF64(
    opt: JobSpec['training']['optimizer'],
    step: number,
    lr: number,
    fuseMode: number,
    fuseBy: number,
  ): void {
    // The last clip, when there is one to apply: g ← g·scale or clamp(g, −clamp, clamp), exactly
    // as clipBy computes it, stored back and measured into clipSq, in the pass that uses it.
    const clip = fuseMode !== FUSE_NONE;
    const scale = fuseMode === FUSE_SCALE ? fuseBy : 0;
    const clamp = fuseMode === FUSE_CLAMP ? fuseBy : 0;
    const lo = -clamp;
    if (opt === 'sgd') {
      for (let s = 0; s < nSeg; s++) {
        kernels.sgdUpdate(segEnd[s] - segOff[s], paramSeg[s], gradSeg[s], lr, fuseMode as SgdMode, fuseBy, sums);
        deltaSq[s] = sums[0];
        paramSq[s] = sums[1];
        if (clip) clipSq[s] = sums[2];
      }
      return;
    }
    const buf = m1!;
    if (opt === 'momentum') {
      for (let s = 0; s < nSeg; s++) {
        let acc = 0;
        let accP = 0;
        let accC = 0;
        const end = segEnd[s];
        for (let i = segOff[s]; i < end; i++) {
          let g = grads[i];
          if (clip) {
            g = fuseMode === FUSE_SCALE ? g * scale : Math.min(clamp, Math.max(lo, g));
            grads[i] = g;
            accC += g * g;
          }
          const b = step === 1 ? g : buf[i] * MOMENTUM + g;
          buf[i] = b;
          const old = params[i];
          const p = old + -lr * b;
          params[i] = p;
          accP += p * p;
          acc += (p - old) * (p - old);
        }
        deltaSq[s] = acc;
        paramSq[s] = accP;
        if (clip) clipSq[s] = accC;
      }
      return;
    }
    const v = m2!;
    const bc1 = 1 - ADAM_BETA1 ** step;
    const bc2 = 1 - ADAM_BETA2 ** step;
    const stepSize = lr / bc1;
    const bc2Sqrt = Math.sqrt(bc2);
    const w1 = 1 - ADAM_BETA1;
    const w2 = 1 - ADAM_BETA2;
    for (let s = 0; s < nSeg; s++) {
      let acc = 0;
      let accP = 0;
      let accC = 0;
      const end = segEnd[s];
      for (let i = segOff[s]; i < end; i++) {
        let g = grads[i];
        if (clip) {
          g = fuseMode === FUSE_SCALE ? g * scale : Math.min(clamp, Math.max(lo, g));
          grads[i] = g;
          accC += g * g;
        }
        const m = buf[i] + w1 * (g - buf[i]);
        buf[i] = m;
        const vv = v[i] * ADAM_BETA2 + w2 * g * g;
        v[i] = vv;
        const denom = Math.sqrt(vv) / bc2Sqrt + ADAM_EPS;
        const old = params[i];
        const p = old + (-stepSize * m) / denom;
        params[i] = p;
        accP += p * p;
        acc += (p - old) * (p - old);
      }
      deltaSq[s] = acc;
      paramSq[s] = accP;
      if (clip) clipSq[s] = accC;
    }
  }

  function updateF32(opt: JobSpec['training']['optimizer'], step: number, lr: number): void {
    const f = Math.fround;
    const negLr = f(-lr);
    if (opt === 'sgd') {
      for (let s = 0; s < nSeg; s++) {
        let acc = 0;
        let accP = 0;
        for (let i = segOff[s]; i < segEnd[s]; i++) {
          const old = params[i];
          const p = f(old + f(negLr * grads[i]));
          params[i] = p;
          accP = f(accP + f(p * p));
          const d = f(p - old);
          acc = f(acc + f(d * d));
        }
        deltaSq[s] = acc;
        paramSq[s] = accP;
      }
      return;
    }
    const buf = m1!;
    if (opt === 'momentum') {
      for (let s = 0; s < nSeg; s++) {
        let acc = 0;
        let accP = 0;
        for (let i = segOff[s]; i < segEnd[s]; i++) {
          const b = step === 1 ? grads[i] : f(f(buf[i] * f(MOMENTUM)) + grads[i]);
          buf[i] = b;
          const old = params[i];
          const p = f(old + f(negLr * b));
          params[i] = p;
          accP = f(accP + f(p * p));
          const d = f(p - old);
          acc = f(acc + f(d * d));
        }
        deltaSq[s] = acc;
        paramSq[s] = accP;
      }
      return;
    }
    const v = m2!;
    const bc1 = 1 - ADAM_BETA1 ** step;
    const bc2 = 1 - ADAM_BETA2 ** step;
    const negStep = f(-(lr / bc1));
    const bc2Sqrt = f(Math.sqrt(bc2));
    const w1 = f(1 - ADAM_BETA1);
    const w2 = f(1 - ADAM_BETA2);
    const beta2 = f(ADAM_BETA2);
    const eps = f(ADAM_EPS);
    for (let s = 0; s < nSeg; s++) {
      let acc = 0;
      let accP = 0;
      for (let i = segOff[s]; i < segEnd[s]; i++) {
        const g = grads[i];
        const m = f(buf[i] + f(w1 * f(g - buf[i])));
        buf[i] = m;
        const vv = f(f(v[i] * beta2) + f(f(w2 * g) * g));
        v[i] = vv;
        const denom = f(f(f(Math.sqrt(vv)) / bc2Sqrt) + eps);
        const old = params[i];
        const p = f(old + f(f(negStep * m) / denom));
        params[i] = p;
        accP = f(accP + f(p * p));
        const d = f(p - old);
        acc = f(acc + f(d * d));
      }
      deltaSq[s] = acc;
      paramSq[s] = accP;
    }
  }
}
