/**
 * Pieces the /v1 route modules share: the options they are registered with, the job resource
 * shaping, and OpenAPI response entries for problems.
 */
import type { FastifyRequest } from 'fastify';
import { type Job, Problem } from '../contract/api.js';
import { errors } from '../errors.js';
import type { JobRecord, JobService } from '../runtime/types.js';
import type { Services } from '../services.js';

export interface V1Options {
  /** Built by the composition root (src/services.ts). */
  services: Services;
  isDraining(): boolean;
  wsMaxBufferBytes: number;
  wsPingMs: number;
  wsStallMs: number;
}

export function jobPath(id: string): string {
  return `/v1/jobs/${encodeURIComponent(id)}`;
}

/** The job resource: the record without its owner, plus links. */
export function toJob(record: JobRecord): Job {
  const self = jobPath(record.id);
  return {
    id: record.id,
    name: record.name,
    status: record.status,
    createdAt: record.createdAt,
    startedAt: record.startedAt,
    endedAt: record.endedAt,
    progress: record.progress,
    summary: record.summary,
    error: record.error,
    lastSeq: record.lastSeq,
    kernels: record.kernels,
    spec: record.spec,
    links: {
      self,
      result: `${self}/result`,
      csv: `${self}/result?format=csv`,
      events: `${self}/events`,
      stream: `${self}/stream`,
    },
  };
}

/** OpenAPI response entries for the given error statuses, all application/problem+json. */
export function problems(...statuses: number[]) {
  const out: Record<
    number,
    { description: string; content: { 'application/problem+json': { schema: typeof Problem } } }
  > = {};
  for (const s of statuses) {
    out[s] = { description: DESCRIPTIONS[s] ?? 'Error', content: { 'application/problem+json': { schema: Problem } } };
  }
  return out;
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request (GL_ERR_VALIDATION, GL_ERR_MALFORMED_BODY); `errors` lists each bad field.',
  401: 'API keys are configured and no valid key was sent (GL_ERR_UNAUTHORIZED).',
  404: 'No such job, or not yours (GL_ERR_JOB_NOT_FOUND).',
  409: 'The job has already ended (GL_ERR_JOB_ENDED).',
  413: 'Body larger than BODY_LIMIT (GL_ERR_BODY_TOO_LARGE).',
  415: 'Content-Type is not application/json (GL_ERR_UNSUPPORTED_MEDIA_TYPE).',
  422: 'Valid JSON but impossible or over budget (GL_ERR_SPEC_IMPOSSIBLE, GL_ERR_OVER_BUDGET).',
  426: 'A WebSocket endpoint called without the upgrade (GL_ERR_UPGRADE_REQUIRED).',
  429: 'Rate limited (GL_ERR_RATE_LIMITED); see Retry-After.',
  503: 'Queue full or shutting down (GL_ERR_QUEUE_FULL, GL_ERR_DRAINING); see Retry-After.',
};

/** Looks the job up for the request's owner, or throws 404. */
export async function requireJob(service: JobService, request: FastifyRequest, id: string): Promise<JobRecord> {
  const record = await service.get(id, request.owner);
  if (!record) throw new errors.JOB_NOT_FOUND(id);
  return record;
}
