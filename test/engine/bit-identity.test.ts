/**
 * Same bits, pinned: a broad set of specs (every preset and mitigated variant as they stood when
 * the hashes were taken, plus float32, every optimizer, both clips, stacked clips, batch-norm,
 * every activation, sparse recording and non-stopping non-finite runs) runs on both backends,
 * and a SHA-256 of each run's series and summary numbers must equal the committed one.
 *
 * Refactors of the engine must leave every number unchanged (docs/engine.md); this test is the
 * proof. Fields added to the series or summary later are deliberately not hashed (only the ones
 * listed in `digest`), so new telemetry does not disturb the pin, while any change to an existing
 * number does. `UPDATE_BIT_IDENTITY=1 npx vitest run test/engine/bit-identity.test.ts` rewrites the
 * fixture — only for a change that is meant to alter numbers, said so in its commit.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { presets } from '../../src/contract/presets.js';
import { JobSpec, type JobSpecInput } from '../../src/contract/spec.js';
import { tsBackend } from '../../src/engine/backend.js';
import { type SimulationOutput, simulate } from '../../src/engine/index.js';
import { createWasmBackend } from '../../src/engine/wasm/index.js';

const FIXTURE = new URL('./fixtures/bit-identity.json', import.meta.url);
const UPDATE = process.env.UPDATE_BIT_IDENTITY === '1';

interface Case {
  name: string;
  spec: JobSpec;
  sha256: string;
}

/** The existing columns and summary fields, in a fixed order, as bytes. */
function digest(out: SimulationOutput): string {
  const h = createHash('sha256');
  const s = out.series;
  const n = s.length;
  const f64 = (x: Float64Array) => h.update(new Uint8Array(x.buffer, x.byteOffset, n * 8));
  h.update(new Uint8Array(s.steps.buffer, s.steps.byteOffset, n * 4));
  for (const c of [s.loss, s.gradNorm, s.clippedGradNorm, s.lr, s.paramNorm]) f64(c);
  h.update(JSON.stringify(s.layerNames));
  for (let l = 0; l < s.layerNames.length; l++) {
    f64(s.layerGradNorm[l]);
    f64(s.layerWeightNorm[l]);
    f64(s.layerUpdateRatio[l]);
  }
  if (s.hiddenGradNorms) for (let i = 0; i < n; i++) h.update(new Uint8Array(s.hiddenGradNorms[i].slice().buffer));
  const m = out.summary;
  h.update(
    JSON.stringify([
      out.status,
      m.outcome,
      m.stepsRun,
      m.stopped,
      m.firstNonFiniteStep,
      m.nonFinite,
      m.maxGradNorm,
      m.minGradNorm,
      m.firstLoss,
      m.finalLoss,
      m.baselineLoss,
      m.layerGradRatio,
      m.backwardGain,
      m.predictedForwardGain,
      m.predictedLayerGradFactor,
    ]),
  );
  return h.digest('hex');
}

/** The spec set as it was first hashed (presets included as they were then: they may change later). */
function freshCases(): { name: string; spec: JobSpecInput }[] {
  const cases: { name: string; spec: JobSpecInput }[] = [];
  for (const p of presets) {
    cases.push({ name: p.id, spec: p.spec });
    for (const m of p.mitigated) cases.push({ name: m.id, spec: m.spec });
  }
  const mlp = (
    activation: 'tanh' | 'relu' | 'sigmoid' | 'identity',
    extra: Partial<JobSpecInput> = {},
  ): JobSpecInput => ({
    seed: 7,
    network: {
      kind: 'mlp',
      depth: 4,
      width: 12,
      inputDim: 3,
      outputDim: 2,
      activation,
      init: { scheme: 'xavier', gain: 1 },
    },
    data: { kind: 'synthetic', samples: 40 },
    training: { steps: 30, batchSize: 16, learningRate: 0.05, optimizer: 'sgd' },
    ...extra,
  });
  for (const activation of ['tanh', 'relu', 'sigmoid', 'identity'] as const) {
    for (const dtype of ['float64', 'float32'] as const) {
      for (const optimizer of ['sgd', 'momentum', 'adam'] as const) {
        cases.push({
          name: `mlp-${activation}-${dtype}-${optimizer}`,
          spec: mlp(activation, {
            training: { steps: 30, batchSize: 16, learningRate: 0.05, optimizer, dtype },
            mitigations: [{ kind: 'clip-norm', maxNorm: 0.5 }],
          }),
        });
      }
    }
  }
  const clips = [
    [{ kind: 'clip-value', maxValue: 0.01 }],
    [
      { kind: 'clip-norm', maxNorm: 0.3 },
      { kind: 'clip-value', maxValue: 0.02 },
    ],
    [
      { kind: 'clip-value', maxValue: 0.05 },
      { kind: 'clip-norm', maxNorm: 0.1 },
    ],
  ] as const;
  for (const [i, m] of clips.entries()) {
    for (const dtype of ['float64', 'float32'] as const) {
      for (const optimizer of ['sgd', 'momentum', 'adam'] as const) {
        cases.push({
          name: `clips${i}-${dtype}-${optimizer}`,
          spec: mlp('tanh', {
            training: { steps: 25, batchSize: 40, learningRate: 0.1, optimizer, dtype },
            mitigations: [...m],
          }),
        });
      }
    }
  }
  for (const dtype of ['float64', 'float32'] as const) {
    cases.push({
      name: `mlp-batch-norm-${dtype}`,
      spec: mlp('relu', {
        training: { steps: 20, batchSize: 16, learningRate: 0.05, optimizer: 'momentum', dtype },
        mitigations: [{ kind: 'batch-norm' }, { kind: 'lr-schedule', warmupSteps: 3, decay: 'cosine' }],
      }),
    });
    cases.push({
      name: `rnn-tanh-${dtype}`,
      spec: {
        seed: 3,
        network: {
          kind: 'rnn',
          hidden: 6,
          seqLength: 12,
          inputDim: 2,
          outputDim: 1,
          init: { scheme: 'orthogonal', gain: 1.2 },
        },
        data: { kind: 'synthetic', samples: 20 },
        training: { steps: 25, batchSize: 8, learningRate: 0.05, optimizer: 'adam', dtype },
        mitigations: [{ kind: 'clip-norm', maxNorm: 1 }],
        record: { hiddenGradNorms: true, every: 3 },
      },
    });
    cases.push({
      name: `linear-overflow-nostop-${dtype}`,
      spec: {
        seed: 2,
        network: { kind: 'linear', depth: 6, width: 3, bias: true, init: { scheme: 'scaled-identity', gain: 2 } },
        data: { kind: 'synthetic', samples: 16 },
        training: { steps: 40, batchSize: 16, learningRate: 0.5, stopOnNonFinite: false, dtype },
        record: { every: 4 },
      },
    });
    cases.push({
      name: `linear-no-layers-${dtype}`,
      spec: {
        seed: 5,
        network: { kind: 'linear', depth: 5, width: 9, inputDim: 4, outputDim: 3, init: { scheme: 'he', gain: 1 } },
        data: { kind: 'synthetic', samples: 50, featureScales: [1, 10, 0.1, 3] },
        training: { steps: 30, batchSize: 50, learningRate: 0.01, optimizer: 'sgd', dtype },
        mitigations: [{ kind: 'input-normalization' }, { kind: 'lr-schedule', decay: 'step', gamma: 0.5 }],
        record: { layers: false, every: 7 },
      },
    });
  }
  // Wide layers: several segments of equal length, so the sumSq8 kernel path runs.
  cases.push({
    name: 'mlp-wide-sumsq8',
    spec: {
      seed: 11,
      network: { kind: 'mlp', depth: 12, width: 24, inputDim: 24, outputDim: 24, activation: 'tanh' },
      data: { kind: 'synthetic', samples: 32 },
      training: { steps: 10, batchSize: 32, learningRate: 0.02, optimizer: 'momentum' },
      mitigations: [{ kind: 'clip-norm', maxNorm: 0.2 }],
    },
  });
  return cases;
}

function load(): Case[] {
  if (UPDATE) {
    return freshCases().map((c) => ({ name: c.name, spec: JobSpec.parse(c.spec), sha256: '' }));
  }
  return JSON.parse(readFileSync(FIXTURE, 'utf8')) as Case[];
}

const cases = load();
const wasm = createWasmBackend();

describe('bit identity: every pinned spec gives the committed bits on both backends', () => {
  it('covers a broad set', () => {
    expect(cases.length).toBeGreaterThanOrEqual(60);
  });
  for (const c of cases) {
    it(c.name, () => {
      const spec = JobSpec.parse(c.spec);
      const ts = digest(simulate(spec, {}, { backend: tsBackend }));
      const wa = digest(simulate(spec, {}, { backend: wasm }));
      expect(wa).toBe(ts);
      if (UPDATE) c.sha256 = ts;
      else expect(ts).toBe(c.sha256);
    });
  }
  if (UPDATE) {
    it('writes the fixture', () => {
      writeFileSync(FIXTURE, `${JSON.stringify(cases, null, 1)}\n`);
    });
  }
});
