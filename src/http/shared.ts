/**
 * Pieces the /v1 route modules share: the options they are registered with, the job resource
 * shaping, and (from ./problem.ts) the OpenAPI error responses built from the error registry.
 */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Job } from '../contract/api.js';
import { errors } from '../errors.js';
import type { JobRecord, JobService } from '../runtime/types.js';
import type { Services } from '../services.js';

export { BODY_ERRORS, problems } from './problem.js';

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

/**
 * The body of an NDJSON route, as validators see it: one string of newline-separated JSON events
 * (each line an instance of the named component), not one JSON object.
 */
export function ndjsonOf(component: 'JobEvent' | 'SweepEvent') {
  return z
    .string()
    .describe(
      `Newline-delimited JSON: each line one ${component} object (#/components/schemas/${component}), in seq order; the body ends after the \`done\` event.`,
    );
}

/** Looks the job up for the request's owner, or throws 404. */
export async function requireJob(service: JobService, request: FastifyRequest, id: string): Promise<JobRecord> {
  const record = await service.get(id, request.owner);
  if (!record) throw new errors.JOB_NOT_FOUND(id);
  return record;
}
