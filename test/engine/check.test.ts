// checkSpec: specs that parse but cannot run, each refused with the field's path and a message
// naming the shapes involved; estimateWork: the size the service budgets against.
import { describe, expect, it } from 'vitest';
import type { JobSpecInput } from '../../src/contract/spec.js';
import { checkSpec, estimateWork, simulate } from '../../src/engine/index.js';
import { parse } from './helpers.js';

const check = (input: JobSpecInput) => checkSpec(parse(input));

describe('checkSpec', () => {
  it('accepts valid specs of every kind', () => {
    expect(check({ network: { kind: 'linear', depth: 10, init: { scheme: 'scaled-identity', gain: 1.5 } } })).toEqual(
      [],
    );
    expect(check({ network: { kind: 'mlp', depth: 3 }, mitigations: [{ kind: 'batch-norm' }] })).toEqual([]);
    expect(check({ network: { kind: 'rnn' } })).toEqual([]);
  });

  it('explicit weights that do not chain name the layer and both shapes', () => {
    const issues = check({
      network: {
        kind: 'linear',
        depth: 4,
        width: 2,
        init: {
          scheme: 'explicit',
          weights: [
            [
              [1, 0],
              [0, 1],
            ],
            [
              [1, 0],
              [0, 1],
            ],
            [
              [1, 0],
              [0, 1],
            ],
            [
              [1, 0, 0],
              [0, 1, 0],
            ],
          ],
        },
      },
    });
    expect(issues).toHaveLength(1);
    expect(issues[0].path).toEqual(['network', 'init', 'weights', 3]);
    expect(issues[0].message).toContain('W4');
    expect(issues[0].message).toContain('2×3');
    expect(issues[0].message).toContain('2×2');
  });

  it('a ragged matrix, a wrong number of layers and wrong bias lengths', () => {
    expect(
      check({
        network: {
          kind: 'linear',
          depth: 1,
          width: 2,
          init: { scheme: 'explicit', weights: [[[1, 0], [0]]] },
        },
      }),
    ).toEqual([
      { path: ['network', 'init', 'weights', 0, 1], message: expect.stringContaining('row 1 has 1 entries') },
    ]);
    expect(
      check({ network: { kind: 'linear', depth: 2, width: 1, init: { scheme: 'explicit', weights: [[[1]]] } } })[0],
    ).toMatchObject({ path: ['network', 'init', 'weights'], message: expect.stringContaining('depth is 2') });
    expect(
      check({
        network: {
          kind: 'mlp',
          depth: 1,
          width: 1,
          init: { scheme: 'explicit', weights: [[[1]]], biases: [[1, 2]] },
        },
      })[0],
    ).toMatchObject({ path: ['network', 'init', 'biases', 0], message: expect.stringContaining('2 entries') });
  });

  it('rnn explicit shapes are checked against hidden, inputDim and outputDim', () => {
    const issues = check({
      network: {
        kind: 'rnn',
        hidden: 2,
        inputDim: 1,
        outputDim: 1,
        init: {
          scheme: 'explicit',
          inputWeights: [[1], [1]],
          recurrentWeights: [[1, 0]],
          outputWeights: [[1, 1]],
          hiddenBias: [0, 0, 0],
        },
      },
    });
    expect(issues.map((i) => i.path)).toEqual([
      ['network', 'init', 'recurrentWeights'],
      ['network', 'init', 'hiddenBias'],
    ]);
    expect(issues[0].message).toContain('1×2');
    expect(issues[0].message).toContain('2×2');
  });

  it('batch-norm on a non-mlp network points at the mitigation', () => {
    const issues = check({
      network: { kind: 'rnn' },
      mitigations: [{ kind: 'clip-norm', maxNorm: 1 }, { kind: 'batch-norm' }],
    });
    expect(issues).toEqual([{ path: ['mitigations', 1], message: expect.stringContaining('mlp') }]);
    expect(check({ network: { kind: 'linear', depth: 2 }, mitigations: [{ kind: 'batch-norm' }] })).toHaveLength(1);
  });

  it('featureScales must have inputDim entries', () => {
    expect(
      check({ network: { kind: 'mlp', depth: 2, width: 3 }, data: { kind: 'synthetic', featureScales: [1, 1000] } }),
    ).toEqual([{ path: ['data', 'featureScales'], message: expect.stringContaining('inputDim is 3') }]);
  });

  it('explicit data: input widths, sequence shapes, target widths and counts', () => {
    const layered = check({
      network: { kind: 'linear', depth: 1, width: 2 },
      data: { kind: 'explicit', inputs: [[1, 2], [1, 2, 3], [[1, 2]]], targets: [[1, 2], [1]] },
    });
    expect(layered.map((i) => i.path)).toEqual([
      ['data', 'targets'],
      ['data', 'inputs', 1],
      ['data', 'inputs', 2],
      ['data', 'targets', 1],
    ]);
    const seq = check({
      network: { kind: 'rnn', seqLength: 2, inputDim: 1 },
      data: {
        kind: 'explicit',
        inputs: [
          [[1], [2]],
          [[1], [2], [3]],
        ],
        targets: [[1], [2]],
      },
    });
    expect(seq).toEqual([{ path: ['data', 'inputs', 1], message: expect.stringContaining('3×1 but must be 2×1') }]);
  });

  it('caps the number of issues so a huge bad data set stays readable', () => {
    const inputs = Array.from({ length: 1000 }, () => [1]);
    const targets = Array.from({ length: 1000 }, () => [1]);
    expect(
      check({ network: { kind: 'linear', depth: 1, width: 2 }, data: { kind: 'explicit', inputs, targets } }),
    ).toHaveLength(20);
  });

  it('a spec checkSpec accepts runs', () => {
    const spec = parse({
      network: { kind: 'rnn', seqLength: 2, inputDim: 1, hidden: 2 },
      data: { kind: 'explicit', inputs: [[[1], [2]]], targets: [[3]] },
      training: { steps: 2 },
    });
    expect(checkSpec(spec)).toEqual([]);
    expect(simulate(spec).summary.stepsRun).toBe(2);
  });
});

describe('estimateWork', () => {
  it('W2 (mlp tanh 20×64, batch 64): about 6 FLOPs per weight and sample per step', () => {
    const spec = parse({
      network: { kind: 'mlp', depth: 20, width: 64, inputDim: 64, outputDim: 1 },
      training: { steps: 500, batchSize: 64 },
    });
    const w = estimateWork(spec);
    const weights = 19 * 64 * 64 + 64;
    const lower = 500 * 6 * 64 * weights;
    expect(w.flops).toBeGreaterThanOrEqual(lower);
    expect(w.flops).toBeLessThan(1.2 * lower);
    expect(w.records).toBe(500);
    expect(w.bytes).toBeGreaterThan(500 * 8 * 65);
  });

  it('grows with steps, depth and recording', () => {
    const base: JobSpecInput = { network: { kind: 'mlp', depth: 4, width: 16 }, training: { steps: 100 } };
    const w = estimateWork(parse(base));
    expect(estimateWork(parse({ ...base, training: { steps: 200 } })).flops).toBeGreaterThan(1.9 * w.flops);
    expect(estimateWork(parse({ ...base, network: { kind: 'mlp', depth: 8, width: 16 } })).flops).toBeGreaterThan(
      w.flops,
    );
    expect(estimateWork(parse({ ...base, record: { every: 10 } })).bytes).toBeLessThan(w.bytes);
  });
});
