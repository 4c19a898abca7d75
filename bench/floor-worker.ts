/**
 * Worker of the benchmarks' floor cases (bench/service.ts, bench/sweep.ts): runs specs through the
 * engine and returns only their outcomes — no records sent, nothing stored. What a job service
 * could not do less of; see the floor cases.
 */
import type { JobSpec } from '../src/contract/spec.js';
import { simulate } from '../src/engine/index.js';

export default function runSpecs(specs: JobSpec[]): string[] {
  return specs.map((spec) => simulate(spec).summary.outcome);
}
