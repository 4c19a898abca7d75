/** The job record clients see, from a stored job (and, while it runs, its live log). */
import type { JobLog } from './event-log.js';
import type { StoredJob } from './store/types.js';
import type { JobRecord, Owner } from './types.js';

/** With an owner given, only that owner's jobs are visible; with null, every job is. */
export function visible(job: StoredJob, owner: Owner): boolean {
  return owner === null || job.owner === owner;
}

export function storedRecord(job: StoredJob): JobRecord {
  return {
    id: job.id,
    name: job.name,
    status: job.status,
    owner: job.owner,
    spec: job.spec,
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    endedAt: job.endedAt,
    progress: { step: job.step, steps: job.spec.training.steps },
    summary: job.summary,
    error: job.error,
    lastSeq: job.lastSeq,
    sweepId: job.sweepId,
    kernels: job.kernels,
  };
}

/** The store's copy lags the live log: progress and lastSeq come from the log. */
export function liveRecord(job: StoredJob, log: JobLog): JobRecord {
  return {
    ...storedRecord(job),
    progress: { step: log.telemetry.lastStep(), steps: job.spec.training.steps },
    lastSeq: log.available() - 1,
  };
}
