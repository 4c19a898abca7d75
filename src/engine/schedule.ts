/**
 * The `lr-schedule` mitigation. With base rate η, W warm-up steps, S steps in all and
 * D = S − W steps after warm-up (t = step − W − 1 counts them from 0):
 *
 *   warm-up, step ≤ W:   η · step / W               (η/W at step 1, η at step W)
 *   decay 'none':        η
 *   decay 'cosine':      η · ½ · (1 + cos(π · t / (D − 1)))   (η right after warm-up, 0 at step S;
 *                        η when D = 1, as there is nothing to decay over)
 *   decay 'step':        η · γ^⌊t / stepSize⌋, stepSize defaulting to max(1, ⌊D / 3⌋)
 *
 * Without the mitigation every step uses η.
 */
import type { JobSpec, MitigationSpec } from '../contract/spec.js';

type ScheduleSpec = Extract<MitigationSpec, { kind: 'lr-schedule' }>;

export interface LrSchedule {
  base: number;
  steps: number;
  warmupSteps: number;
  decay: 'none' | 'cosine' | 'step';
  stepSize: number;
  gamma: number;
}

/** The job's schedule (the first lr-schedule mitigation), or a constant rate. */
export function scheduleOf(spec: JobSpec): LrSchedule {
  const base = spec.training.learningRate;
  const steps = spec.training.steps;
  const m = spec.mitigations.find((x): x is ScheduleSpec => x.kind === 'lr-schedule');
  if (!m) return { base, steps, warmupSteps: 0, decay: 'none', stepSize: 1, gamma: 1 };
  const warmupSteps = Math.min(m.warmupSteps, steps);
  const after = steps - warmupSteps;
  return {
    base,
    steps,
    warmupSteps,
    decay: m.decay,
    stepSize: m.stepSize ?? Math.max(1, Math.floor(after / 3)),
    gamma: m.gamma,
  };
}

/** The learning rate used at `step` (1-based). */
export function learningRateAt(s: LrSchedule, step: number): number {
  if (step <= s.warmupSteps) return (s.base * step) / s.warmupSteps;
  const t = step - s.warmupSteps - 1;
  const d = s.steps - s.warmupSteps;
  switch (s.decay) {
    case 'none':
      return s.base;
    case 'cosine':
      return d <= 1 ? s.base : s.base * 0.5 * (1 + Math.cos((Math.PI * t) / (d - 1)));
    case 'step':
      return s.base * s.gamma ** Math.floor(t / s.stepSize);
  }
}
