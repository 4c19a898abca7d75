/** Job specs shared by the process-level tests, sized so that a run lasts a few seconds at most. */
import type { JobSpecInput } from '../../src/contract/spec.js';

/** Ends in well under a second. */
export const SHORT_SPEC: JobSpecInput = {
  name: 'ops short',
  seed: 7,
  network: { kind: 'linear', depth: 4, width: 2, init: { scheme: 'scaled-identity', gain: 1.5 } },
  training: { steps: 30, batchSize: 16, learningRate: 0.001 },
  mitigations: [{ kind: 'clip-norm', maxNorm: 1 }],
};

/** Runs long enough (seconds) to be interrupted mid-way, with every step recorded. */
export const LONG_SPEC: JobSpecInput = {
  name: 'ops long',
  seed: 11,
  network: { kind: 'mlp', depth: 6, width: 48, activation: 'tanh', init: { scheme: 'xavier', gain: 1 } },
  data: { kind: 'synthetic', samples: 256 },
  training: { steps: 800, batchSize: 32, learningRate: 0.01 },
};
