/**
 * The HTTP resources: the job resource and its links, the job list page, problem+json, and the
 * query strings and path parameters of the /v1 routes. Each named schema becomes a component of
 * openapi.yaml through its `.meta({ id })`.
 */
import { z } from 'zod';
import { JobStatus, Series, Summary } from './events.js';
import { JobSpec } from './spec.js';

/** The job spec as a named component (the same schema object validation uses). */
export const JobSpecBody = JobSpec.meta({
  id: 'JobSpec',
  description: 'A simulation job: the network, its data, how it trains, and the mitigations to apply.',
});

export const JobId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_-]+$/, 'a job id is letters, digits, "_" and "-"');

export const JobParams = z.object({ id: JobId }).strict();

export const JobLinks = z
  .object({
    self: z.string(),
    result: z.string(),
    csv: z.string(),
    events: z.string().describe('NDJSON event stream'),
    stream: z.string().describe('WebSocket event stream (same path, ws:// or wss://)'),
  })
  .meta({ id: 'JobLinks' });

export const Job = z
  .object({
    id: z.string(),
    name: z.string().nullable(),
    status: JobStatus,
    createdAt: z.string().describe('ISO 8601'),
    startedAt: z.string().nullable(),
    endedAt: z.string().nullable(),
    progress: z.object({ step: z.int().nonnegative(), steps: z.int().nonnegative() }),
    summary: Summary.nullable(),
    error: z.string().nullable().describe('Why the job failed (status failed).'),
    lastSeq: z.int().min(-1).describe('seq of the last event emitted so far (−1 before the first).'),
    kernels: z
      .enum(['exact', 'fma'])
      .describe(
        'Kernels the job runs with, fixed at submission (ENGINE_KERNELS): exact gives the same bits on every CPU; fma fuses multiply-adds (within rounding of exact, not bit-identical).',
      ),
    spec: JobSpecBody,
    links: JobLinks,
  })
  .meta({ id: 'Job' });
export type Job = z.output<typeof Job>;

export const JobPage = z
  .object({
    items: z.array(Job),
    nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page.'),
    links: z.object({ next: z.string().nullable() }),
  })
  .meta({ id: 'JobPage' });

export const ListJobsQuery = z
  .object({
    status: JobStatus.optional(),
    sweep: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe('Only the cells of this sweep (sweep cells are otherwise left out unless `cells=include`).'),
    cells: z
      .enum(['exclude', 'include'])
      .default('exclude')
      .describe('Whether sweep cells are listed beside the jobs submitted on their own (default: not).'),
    cursor: z.string().min(1).max(512).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
  })
  .strict();

export const ResultQuery = z
  .object({
    format: z.enum(['json', 'csv']).default('json'),
  })
  .strict();

export const StreamQuery = z
  .object({
    // Plain decimal digits only: Number() would also take "0x10", "1e3" and " 1" (issue 11, defect 8).
    from: z
      .preprocess(
        (v) => (typeof v === 'string' && /^[0-9]{1,16}$/.test(v) ? Number(v) : v),
        z.int('a plain decimal integer (digits 0-9 only)').min(0).max(Number.MAX_SAFE_INTEGER).default(0),
      )
      .describe('First seq to send: a reconnecting client passes the last seq it saw + 1.'),
    access_token: z
      .string()
      .min(1)
      .max(512)
      .optional()
      .describe(
        'The API key, for browsers, which cannot set an Authorization header on a WebSocket. Accepted on the stream and events routes only; the header is preferred everywhere else.',
      ),
  })
  .strict();

export const FieldErrorSchema = z
  .object({
    path: z.string().describe('Dotted path of the offending field, e.g. "network.depth"; "" for the whole body.'),
    message: z.string(),
  })
  .meta({ id: 'FieldError' });

export const Problem = z
  .object({
    type: z.string().describe('A URI naming the kind of problem: urn:gradient-lab:problem:<code>.'),
    title: z.string(),
    status: z.int(),
    detail: z.string(),
    code: z.string().describe('Stable error code, GL_ERR_…'),
    instance: z.string().describe('The request path.'),
    requestId: z.string().optional(),
    errors: z.array(FieldErrorSchema).optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details (application/problem+json).' });
export type Problem = z.output<typeof Problem>;

export const JobResult = z
  .object({
    job: Job,
    summary: Summary.nullable(),
    series: Series.describe(
      'Columnar: entry i of every array belongs to recorded step steps[i]. Partial while the job runs.',
    ),
  })
  .meta({ id: 'JobResult' });
