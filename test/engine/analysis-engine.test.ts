/**
 * The analysis predicts what the engine measures: the backward gain a training run reports at
 * step 1 (‖∂L/∂h_1‖/‖∂L/∂h_T‖ for an rnn) obeys the bounds the analysis computes from the same
 * initial weights (same network, same seed), and attains them where theory says it must.
 */
import { describe, expect, it } from 'vitest';
import { AnalysisRequest } from '../../src/contract/analysis.js';
import { decodeNum, type Num } from '../../src/contract/events.js';
import { JobSpec, type JobSpecInput } from '../../src/contract/spec.js';
import { analyze } from '../../src/engine/analysis/index.js';
import { simulate } from '../../src/engine/index.js';

const n = (x: Num | null | undefined) => decodeNum(x as Num);

function measure(network: JobSpecInput['network'], seed: number) {
  const spec = JobSpec.parse({
    seed,
    network,
    data: { kind: 'synthetic', samples: 8 },
    training: { steps: 1, batchSize: 8, learningRate: 1e-3 },
  });
  const run = simulate(spec).summary;
  const analysis = analyze(AnalysisRequest.parse({ network, seed }));
  return { run, analysis };
}

describe('analysis bounds against the engine’s measured backward gain (Pascanu et al. 2013)', () => {
  const inits = [
    { scheme: 'orthogonal', gain: 0.9 },
    { scheme: 'orthogonal', gain: 1.1 },
    { scheme: 'xavier', gain: 1.3 },
    { scheme: 'gaussian', std: 0.2 },
  ] as const;

  it('linear rnn: ‖∂L/∂h_1‖/‖∂L/∂h_T‖ ≤ ‖W_hh^(T−1)‖₂ ≤ λ₁^(T−1), with equality for λ·orthogonal (rel 1e-9)', () => {
    for (const [i, init] of inits.entries()) {
      const T = 30;
      const { run, analysis } = measure({ kind: 'rnn', hidden: 6, seqLength: T, activation: 'identity', init }, i + 1);
      const gain = n(run.backwardGain);
      const power = n(analysis.recurrent?.powers?.[T - 2]);
      expect(gain).toBeLessThanOrEqual(power * (1 + 1e-9));
      expect(power).toBeLessThanOrEqual(n(analysis.recurrent?.jacobianBound) * (1 + 1e-9));
      if (init.scheme === 'orthogonal') expect(Math.abs(gain / init.gain ** (T - 1) - 1)).toBeLessThan(1e-9);
    }
  });

  it('tanh and relu rnn: the measured gain stays under (γ·λ₁)^(T−1), γ = 1', () => {
    for (const activation of ['tanh', 'relu'] as const) {
      for (const [i, init] of inits.entries()) {
        const { run, analysis } = measure({ kind: 'rnn', hidden: 6, seqLength: 25, activation, init }, 10 + i);
        expect(n(run.backwardGain)).toBeLessThanOrEqual(n(analysis.recurrent?.jacobianBound) * (1 + 1e-9));
      }
    }
  });

  it('scaled-identity linear net: the run’s predicted factors and backward gain equal the analysis’ gain^L and gain^(L−1)', () => {
    for (const gain of [1.5, 0.5, -1.2]) {
      const { run, analysis } = measure(
        { kind: 'linear', depth: 10, width: 3, init: { scheme: 'scaled-identity', gain } },
        3,
      );
      // Exact for dyadic gains (1.5, 0.5); otherwise the two modules may round gain^L differently by an ulp or two.
      const close = (a: Num | null | undefined, b: Num | null | undefined) =>
        gain === 1.5 || gain === 0.5 ? expect(a).toBe(b) : expect(Math.abs(n(a) / n(b) - 1)).toBeLessThan(1e-14);
      close(run.predictedForwardGain, analysis.scaledIdentity?.forwardGain);
      close(run.predictedLayerGradFactor, analysis.scaledIdentity?.layerGradFactor);
      expect(Math.abs(n(run.backwardGain) / Math.abs(n(analysis.scaledIdentity?.layerGradFactor)) - 1)).toBeLessThan(
        1e-12,
      );
    }
  });
});
