// Property test: any small spec the schema and checkSpec accept runs to a well-formed result and
// never throws, whatever the combination of network, init, mitigations, optimizer and dtype.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Series as SeriesSchema, Summary as SummarySchema } from '../../src/contract/events.js';
import type { JobSpecInput } from '../../src/contract/spec.js';
import { checkSpec, estimateWork, seriesToJson, simulate } from '../../src/engine/index.js';
import { parse } from './helpers.js';

const init = fc.oneof(
  fc.record({ scheme: fc.constant('scaled-identity' as const), gain: fc.double({ min: -3, max: 3, noNaN: true }) }),
  fc.record({ scheme: fc.constant('gaussian' as const), std: fc.double({ min: 0, max: 5, noNaN: true }) }),
  fc.record({
    scheme: fc.constantFrom('xavier' as const, 'he' as const, 'orthogonal' as const),
    gain: fc.double({ min: 0.01, max: 4, noNaN: true }),
  }),
);

const layered = fc
  .record({
    kind: fc.constantFrom('linear' as const, 'mlp' as const),
    depth: fc.integer({ min: 1, max: 5 }),
    width: fc.integer({ min: 1, max: 6 }),
    inputDim: fc.integer({ min: 1, max: 4 }),
    outputDim: fc.integer({ min: 1, max: 3 }),
    activation: fc.constantFrom('identity' as const, 'tanh' as const, 'relu' as const, 'sigmoid' as const),
    bias: fc.boolean(),
    init,
  })
  .map(({ activation, ...net }) => (net.kind === 'mlp' ? { ...net, activation } : net));

const rnn = fc.record({
  kind: fc.constant('rnn' as const),
  hidden: fc.integer({ min: 1, max: 5 }),
  seqLength: fc.integer({ min: 1, max: 12 }),
  inputDim: fc.integer({ min: 1, max: 3 }),
  outputDim: fc.integer({ min: 1, max: 2 }),
  activation: fc.constantFrom('tanh' as const, 'identity' as const, 'relu' as const),
  bias: fc.boolean(),
  init,
});

const mitigation = fc.oneof(
  fc.record({ kind: fc.constant('clip-norm' as const), maxNorm: fc.double({ min: 0.01, max: 10, noNaN: true }) }),
  fc.record({ kind: fc.constant('clip-value' as const), maxValue: fc.double({ min: 0.01, max: 10, noNaN: true }) }),
  fc.record({ kind: fc.constant('batch-norm' as const) }),
  fc.record({
    kind: fc.constant('lr-schedule' as const),
    warmupSteps: fc.integer({ min: 0, max: 6 }),
    decay: fc.constantFrom('none' as const, 'cosine' as const, 'step' as const),
  }),
  fc.record({ kind: fc.constant('input-normalization' as const) }),
);

const spec = fc.record({
  seed: fc.nat(),
  network: fc.oneof(layered, rnn),
  data: fc.record({
    kind: fc.constant('synthetic' as const),
    samples: fc.integer({ min: 1, max: 20 }),
    noise: fc.double({ min: 0, max: 1, noNaN: true }),
  }),
  training: fc.record({
    steps: fc.integer({ min: 1, max: 8 }),
    batchSize: fc.integer({ min: 1, max: 25 }),
    learningRate: fc.double({ min: 1e-4, max: 100, noNaN: true }),
    optimizer: fc.constantFrom('sgd' as const, 'momentum' as const, 'adam' as const),
    dtype: fc.constantFrom('float64' as const, 'float32' as const),
    stopOnNonFinite: fc.boolean(),
  }),
  mitigations: fc.array(mitigation, { maxLength: 3 }),
  record: fc.record({ every: fc.integer({ min: 1, max: 4 }), layers: fc.boolean(), hiddenGradNorms: fc.boolean() }),
});

describe('any accepted spec', () => {
  it('runs to a well-formed result without throwing', () => {
    fc.assert(
      fc.property(spec, (input) => {
        const s = parse(input as JobSpecInput);
        if (checkSpec(s).length > 0) return; // e.g. batch-norm on a linear net: refused, not run
        const out = simulate(s);
        const series = seriesToJson(out.series);
        SeriesSchema.parse(series);
        SummarySchema.parse(out.summary);
        const steps = series.steps;
        expect(steps[0]).toBe(1);
        for (let i = 1; i < steps.length; i++) expect(steps[i]).toBeGreaterThan(steps[i - 1]);
        expect(steps.at(-1)).toBe(out.summary.stepsRun);
        expect(steps.length).toBeLessThanOrEqual(estimateWork(s).records);
        if (out.summary.nonFinite) {
          expect(steps).toContain(out.summary.nonFinite.step);
          if (s.training.stopOnNonFinite) expect(out.summary.stepsRun).toBe(out.summary.nonFinite.step);
        } else {
          expect(out.summary.stepsRun).toBe(s.training.steps);
        }
        expect(JSON.parse(JSON.stringify(series))).toEqual(series);
      }),
      { numRuns: 300, seed: 20261127 },
    );
  });
});
