/**
 * Admission: what a job must pass before it exists (docs/runtime.md, "Job lifecycle"): the engine
 * finds nothing impossible in the spec, its estimated work and memory are within budget, and the
 * queue has room. Backend-neutral: the embedded service uses it, and a distributed backend calls
 * the same `Admission` before it writes the job to its own store and queue.
 */
import type { JobSpec } from '../contract/spec.js';
import { checkSpec, estimateWork, type WorkEstimate } from '../engine/index.js';
import { errors, type FieldError } from '../errors.js';
import { newId } from './ids.js';
import type { StoredJob } from './store/types.js';
import type { EngineKernels, Owner, SubmitOptions } from './types.js';

export interface AdmissionLimits {
  /** Jobs waiting to start, sweep cells included; beyond it admission throws QUEUE_FULL. */
  maxQueue: number;
  /** Refuse specs whose estimated work (engine `estimateWork().flops`) is above this. */
  maxWorkFlops: number;
  /** Refuse specs whose estimated memory (engine `estimateWork().bytes`) is above this. */
  maxJobBytes: number;
  /** The kernels admitted jobs run with (default exact; a distributed backend always uses exact). */
  kernels?: EngineKernels;
}

export interface Admitted {
  /** The job to store, status queued. */
  job: StoredJob;
  work: WorkEstimate;
}

export class Admission {
  constructor(private readonly limits: AdmissionLimits) {}

  /**
   * Checks the spec and the room left, in that order; throws GL_ERR_SPEC_IMPOSSIBLE (422),
   * GL_ERR_OVER_BUDGET (422) or GL_ERR_QUEUE_FULL (503). `queue.waiting` counts the jobs that wait
   * to start, `queue.admitting` those admitted and not yet queued (their store write is under way).
   */
  admit(spec: JobSpec, owner: Owner, options: SubmitOptions, queue: { waiting: number; admitting: number }): Admitted {
    const work = this.check(spec);
    if (queue.waiting + queue.admitting >= this.limits.maxQueue) throw new errors.QUEUE_FULL(queue.waiting);
    return { job: newJob(spec, owner, options, this.limits.kernels), work };
  }

  /** The spec's checks and budgets alone; returns the engine's estimate. */
  check(spec: JobSpec): WorkEstimate {
    const issues = checkSpec(spec);
    if (issues.length > 0) {
      const fields: FieldError[] = issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
      throw new errors.SPEC_IMPOSSIBLE(fields);
    }
    const work = estimateWork(spec);
    const { maxWorkFlops, maxJobBytes } = this.limits;
    if (work.flops > maxWorkFlops) {
      const message = `estimated work ${fmt(work.flops)} FLOPs exceeds the limit maxWorkFlops = ${fmt(maxWorkFlops)} (work ≈ training.steps × FLOPs per step)`;
      throw new errors.OVER_BUDGET([{ path: 'training.steps', message }], message);
    }
    if (work.bytes > maxJobBytes) {
      const message = `estimated memory ${fmt(work.bytes)} bytes exceeds the limit maxJobBytes = ${fmt(maxJobBytes)}`;
      throw new errors.OVER_BUDGET([{ path: 'network', message }], message);
    }
    return work;
  }
}

/** A new job's stored form: queued, nothing run yet. */
export function newJob(
  spec: JobSpec,
  owner: Owner,
  options: SubmitOptions = {},
  kernels: EngineKernels = 'exact',
): StoredJob {
  return {
    id: newId(),
    name: spec.name ?? null,
    status: 'queued',
    owner,
    sweepId: options.sweepId ?? null,
    spec,
    createdAt: new Date().toISOString(),
    startedAt: null,
    endedAt: null,
    step: 0,
    summary: null,
    error: null,
    lastSeq: -1,
    kernels,
  };
}

function fmt(x: number): string {
  return x.toExponential(3);
}
