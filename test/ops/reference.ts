/** The engine run in the test process: what an uninterrupted job must emit and store. */
import type { StepEvent } from '../../src/contract/events.js';
import { JobSpec, type JobSpecInput } from '../../src/contract/spec.js';
import { seriesToJson, simulate, stepEventAt } from '../../src/engine/index.js';

export function reference(input: JobSpecInput) {
  const spec = JobSpec.parse(input);
  const steps: Omit<StepEvent, 'seq'>[] = [];
  const out = simulate(spec, { onRecord: (series, index) => steps.push(stepEventAt(series, index)) });
  return { steps, series: seriesToJson(out.series), summary: out.summary };
}
