import { JobSpec, type JobSpecInput } from '../../src/contract/spec.js';
import { tsBackend } from '../../src/engine/backend.js';
import { buildDataset, standardizeInputs } from '../../src/engine/data.js';
import { initParams } from '../../src/engine/init.js';
import { createModel, type Model } from '../../src/engine/model.js';
import { Rng } from '../../src/engine/rng.js';
import { resolveShape } from '../../src/engine/shape.js';

export function parse(input: JobSpecInput): JobSpec {
  return JobSpec.parse(input);
}

/** A model loaded with the spec's whole data set as one batch, at the spec's initial weights. */
export function fullBatchModel(input: JobSpecInput): { spec: JobSpec; model: Model } {
  const spec = parse(input);
  const shape = resolveShape(spec);
  const data = buildDataset(spec, shape);
  if (spec.mitigations.some((m) => m.kind === 'input-normalization')) standardizeInputs(data);
  const model = createModel(shape, data.n, initParams(spec), tsBackend, spec.training.dtype === 'float32');
  model.loadBatch(
    data.x,
    data.y,
    Int32Array.from({ length: data.n }, (_, i) => i),
  );
  return { spec, model };
}

export interface GradCheck {
  /** Largest |g − g_fd| / max(|g|, |g_fd|, floor) over every parameter. */
  maxRelError: number;
  worst: string;
  count: number;
  maxAbsGrad: number;
}

/**
 * Central finite differences, (L(p+h) − L(p−h)) / 2h with h = 1e-5·max(1, |p|), against the
 * analytic gradient, for every parameter. The FD estimate itself carries an absolute error of
 * about 1e-10 here (O(h²) ≈ 1e-10 truncation, ~1e-16·L/h ≈ 1e-11 round-off), so entries smaller than
 * `floor` = 1e-4 are judged on an absolute scale of 1e-4·1e-6 = 1e-10.
 */
export function gradCheck(model: Model, floor = 1e-4): GradCheck {
  model.forward();
  model.backward();
  const g = Float64Array.from(model.grads);
  const p = model.params;
  let maxRelError = 0;
  let worst = '';
  let maxAbsGrad = 0;
  for (const seg of model.segments) {
    for (let i = seg.offset; i < seg.offset + seg.length; i++) {
      const p0 = p[i];
      const h = 1e-5 * Math.max(1, Math.abs(p0));
      p[i] = p0 + h;
      const lp = model.forward();
      p[i] = p0 - h;
      const lm = model.forward();
      p[i] = p0;
      const fd = (lp - lm) / (2 * h);
      const rel = Math.abs(g[i] - fd) / Math.max(Math.abs(g[i]), Math.abs(fd), floor);
      maxAbsGrad = Math.max(maxAbsGrad, Math.abs(g[i]));
      if (rel > maxRelError) {
        maxRelError = rel;
        worst = `${seg.name}[${i - seg.offset}] analytic ${g[i]} fd ${fd}`;
      }
    }
  }
  return { maxRelError, worst, count: p.length, maxAbsGrad };
}

/** Uniforms in [0, 1) from the engine's own generator (src/engine/rng.ts): a fixed sequence per seed, so a failure names a reproducible case. */
export function uniforms(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.uniform();
}
