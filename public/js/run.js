// One run's telemetry, columnar like the API's Series, filled from step events or from a
// GET /result series. Values are decoded JS numbers (NaN and ±Infinity kept as such).

import { decodeNum } from './num.js';

/**
 * @import { components } from '../../clients/ts/src/openapi.js'
 * @typedef {components['schemas']} Schemas
 */

/**
 * Layer names as the engine gives them (docs/design.md): W1…WL, or W_xh, W_hh, W_hy for rnn.
 * @param {Schemas['JobSpecInput'] | null | undefined} spec
 */
export function layerNamesFor(spec) {
  const net = spec?.network;
  if (!net) return [];
  if (net.kind === 'rnn') return ['W_xh', 'W_hh', 'W_hy'];
  const depth = Number(net.depth) || 0;
  return Array.from({ length: depth }, (_, i) => `W${i + 1}`);
}

/**
 * For a scaled-identity linear net (W_l = gain·I): the backward signal grows by gain per layer,
 * so ‖∂L/∂z_l‖/‖∂L/∂z_L‖ = gain^(L−l) and the whole way down gain^(L−1). Null otherwise.
 */
export function predictedBackwardProfile(spec) {
  const net = spec?.network;
  if (net?.kind !== 'linear' || net.init?.scheme !== 'scaled-identity') return null;
  const gain = net.init.gain ?? 1;
  const depth = net.depth;
  const profile = Array.from({ length: depth }, (_, i) => gain ** (depth - (i + 1)));
  return { gain, depth, factor: gain ** (depth - 1), profile };
}

export class Run {
  constructor({ jobId = null, spec = null, label = '' } = {}) {
    this.jobId = jobId;
    this.spec = spec;
    this.label = label;
    this.status = 'queued';
    this.steps = [];
    this.loss = [];
    this.gradNorm = [];
    this.clippedGradNorm = [];
    this.lr = [];
    this.paramNorm = [];
    this.layerNames = layerNamesFor(spec);
    this.layerGrad = this.layerNames.map(() => []);
    // ‖∂L/∂z_l‖ per layer (linear, mlp), when the server reports it; NaN where it did not.
    this.layerBackward = this.layerNames.map(() => []);
    this.hasBackward = false;
    this.hiddenFirst = null;
    this.hiddenLast = null;
    this.hiddenLastStep = null;
    this.nonfinite = null;
    this.summary = null;
    this.error = null;
    this.lastSeq = -1;
    this.eventCount = 0;
  }

  /**
   * Applies one stream event; returns false for one already seen (the caller dedupes by seq too).
   * @param {Schemas['JobEvent']} event
   */
  apply(event) {
    if (typeof event.seq === 'number') {
      if (event.seq <= this.lastSeq) return false;
      this.lastSeq = event.seq;
    }
    this.eventCount += 1;
    if (event.type === 'step') this.addStep(event);
    else if (event.type === 'nonfinite') this.nonfinite = event;
    else if (event.type === 'done') {
      this.status = event.status;
      this.summary = event.summary ?? null;
      this.error = event.error ?? null;
      if (this.summary?.nonFinite && !this.nonfinite) this.nonfinite = this.summary.nonFinite;
    }
    if (this.status === 'queued' && event.type !== 'done') this.status = 'running';
    return true;
  }

  /** @param {Schemas['StepEvent']} ev */
  addStep(ev) {
    this.steps.push(ev.step);
    this.loss.push(decodeNum(ev.loss));
    this.gradNorm.push(decodeNum(ev.gradNorm));
    this.clippedGradNorm.push(decodeNum(ev.clippedGradNorm));
    this.lr.push(decodeNum(ev.lr));
    this.paramNorm.push(decodeNum(ev.paramNorm));
    const layers = ev.layers ?? [];
    while (this.layerGrad.length < layers.length) {
      this.layerNames.push(`layer ${this.layerGrad.length + 1}`);
      this.layerGrad.push(new Array(this.steps.length - 1).fill(Number.NaN));
      this.layerBackward.push(new Array(this.steps.length - 1).fill(Number.NaN));
    }
    for (let i = 0; i < this.layerGrad.length; i++) {
      const layer = i < layers.length ? layers[i] : null;
      this.layerGrad[i].push(layer ? decodeNum(layer.gradNorm) : Number.NaN);
      const b = layer?.backwardNorm;
      if (b !== undefined && b !== null) this.hasBackward = true;
      this.layerBackward[i].push(b !== undefined && b !== null ? decodeNum(b) : Number.NaN);
    }
    if (Array.isArray(ev.hiddenGradNorms)) {
      const h = ev.hiddenGradNorms.map(decodeNum);
      if (!this.hiddenFirst) this.hiddenFirst = h;
      this.hiddenLast = h;
      this.hiddenLastStep = ev.step;
    }
  }

  /**
   * Loads a whole result (GET /v1/jobs/:id/result): `{job, series, summary}`.
   * @param {Schemas['JobResult']} result
   */
  loadResult(result) {
    const s = result.series;
    const job = /** @type {Partial<Schemas['Job']>} */ (result.job ?? {});
    this.jobId = job.id ?? this.jobId;
    this.spec = job.spec ?? this.spec;
    this.status = job.status ?? this.status;
    this.summary = result.summary ?? job.summary ?? null;
    this.error = job.error ?? null;
    this.steps = [...s.steps];
    this.loss = s.loss.map(decodeNum);
    this.gradNorm = s.gradNorm.map(decodeNum);
    this.clippedGradNorm = s.clippedGradNorm.map(decodeNum);
    this.lr = s.lr.map(decodeNum);
    this.paramNorm = s.paramNorm.map(decodeNum);
    this.layerNames = s.layers.map((l) => l.name);
    this.layerGrad = s.layers.map((l) => l.gradNorm.map(decodeNum));
    this.hasBackward = s.layers.some((l) => Array.isArray(l.backwardNorm));
    this.layerBackward = s.layers.map((l) =>
      Array.isArray(l.backwardNorm) ? l.backwardNorm.map(decodeNum) : l.gradNorm.map(() => Number.NaN),
    );
    const hidden = s.hiddenGradNorms;
    if (Array.isArray(hidden) && hidden.length > 0) {
      this.hiddenFirst = hidden[0].map(decodeNum);
      this.hiddenLast = hidden[hidden.length - 1].map(decodeNum);
      this.hiddenLastStep = this.steps[this.steps.length - 1];
    }
    this.nonfinite = this.summary?.nonFinite ?? null;
    this.lastSeq = typeof job.lastSeq === 'number' ? job.lastSeq : this.lastSeq;
  }

  get ended() {
    return this.status === 'succeeded' || this.status === 'failed' || this.status === 'cancelled';
  }
}
