/**
 * The four benchmark workloads of issue 2 ("Speed") as job specs. All: float64, SGD, clip-norm 1.0
 * every step, every step recorded with per-layer norms, weights N(0, (gain/√fanIn)²), biases 0.
 * The engine's `he {gain: g}` draws std g·√(2/fanIn), so g = gain/√2 gives gain/√fanIn, per
 * matrix (rnn: W_xh, W_hh and W_hy each with its own fan-in). bench/python/reference.py defines
 * the same workloads for PyTorch and NumPy.
 */
import { JobSpec, type JobSpecInput } from '../src/contract/spec.js';

export const WORKLOAD_NAMES = ['W1', 'W2', 'W3', 'W4'] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

/** Samples in each synthetic data set: a few batches, so minibatches are really gathered. */
export const SAMPLES = 1024;

const common: Pick<JobSpecInput, 'seed' | 'mitigations' | 'record'> = {
  seed: 0,
  mitigations: [{ kind: 'clip-norm', maxNorm: 1 }],
  record: { every: 1, layers: true, hiddenGradNorms: false },
};

const train = (steps: number, batchSize: number, learningRate: number) =>
  ({ steps, batchSize, learningRate, optimizer: 'sgd', dtype: 'float64' }) as const;

const data = { kind: 'synthetic', samples: SAMPLES, noise: 0.01 } as const;

export const WORKLOADS: Record<WorkloadName, JobSpecInput> = {
  W1: {
    ...common,
    name: 'W1 textbook: linear, depth 10, width 2, W = 1.5·I',
    network: { kind: 'linear', depth: 10, width: 2, bias: false, init: { scheme: 'scaled-identity', gain: 1.5 } },
    data,
    training: train(1000, 32, 1e-4),
  },
  W2: {
    ...common,
    name: 'W2: mlp tanh, depth 20, width 64',
    network: {
      kind: 'mlp',
      depth: 20,
      width: 64,
      inputDim: 64,
      outputDim: 1,
      activation: 'tanh',
      bias: true,
      init: { scheme: 'he', gain: 1.5 / Math.SQRT2 },
    },
    data,
    training: train(500, 64, 0.01),
  },
  W3: {
    ...common,
    name: 'W3: rnn tanh, hidden 64, T = 100',
    network: {
      kind: 'rnn',
      hidden: 64,
      seqLength: 100,
      inputDim: 8,
      outputDim: 1,
      activation: 'tanh',
      bias: true,
      init: { scheme: 'he', gain: 1 / Math.SQRT2 },
    },
    data,
    training: train(200, 16, 0.01),
  },
  W4: {
    ...common,
    name: 'W4: mlp relu, depth 8, width 256',
    network: {
      kind: 'mlp',
      depth: 8,
      width: 256,
      inputDim: 256,
      outputDim: 10,
      activation: 'relu',
      bias: true,
      init: { scheme: 'he', gain: 1 },
    },
    data,
    training: train(200, 128, 0.01),
  },
};

/** A workload as the engine takes it (defaults filled); `steps` overrides the step count. */
export function workloadSpec(name: WorkloadName, steps?: number): JobSpec {
  const input = WORKLOADS[name];
  return JobSpec.parse(steps === undefined ? input : { ...input, training: { ...input.training, steps } });
}
