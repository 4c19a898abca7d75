/**
 * /v1/jobs: submit, list, read, cancel, and the result as JSON or CSV. Thin: validate, call the
 * job service, shape the reply.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Job, JobPage, JobParams, JobResult, JobSpecBody, ListJobsQuery, ResultQuery } from '../contract/api.js';
import { errors } from '../errors.js';
import { resultCsvStream, resultJsonStream } from './result-stream.js';
import { BODY_ERRORS, jobPath, problems, toJob, type V1Options } from './shared.js';

export const jobRoutes: FastifyPluginAsync<V1Options> = async (base, opts) => {
  const app = base.withTypeProvider<ZodTypeProvider>();
  const service = opts.services.jobs;

  app.post(
    '/jobs',
    {
      schema: {
        tags: ['jobs'],
        operationId: 'createJob',
        summary: 'Submit a simulation job',
        description: 'Queues the job and answers 202 with the job resource and its links (Location: the job).',
        body: JobSpecBody,
        response: {
          202: Job,
          ...problems(
            ...BODY_ERRORS,
            errors.SPEC_IMPOSSIBLE,
            errors.OVER_BUDGET,
            errors.QUEUE_FULL,
            errors.DRAINING,
            errors.QUOTA_EXCEEDED,
            errors.STORAGE_FULL,
          ),
        },
      },
    },
    async (request, reply) => {
      if (opts.isDraining()) throw new errors.DRAINING();
      const record = await service.submit(request.body, request.owner);
      request.log.info({ jobId: record.id }, 'job submitted');
      return reply.code(202).header('location', jobPath(record.id)).send(toJob(record));
    },
  );

  app.get(
    '/jobs',
    {
      schema: {
        tags: ['jobs'],
        operationId: 'listJobs',
        summary: 'List jobs, newest first',
        description:
          'Cursor pagination: pass `nextCursor` back as `cursor`. Filter by `status`. Sweep cells are not listed unless asked for: `sweep=<id>` lists one sweep’s cells, `cells=include` lists every job.',
        querystring: ListJobsQuery,
        response: { 200: JobPage, ...problems(errors.VALIDATION) },
      },
    },
    async (request) => {
      const { status, cursor, limit, sweep, cells } = request.query;
      const page = await service.list({
        owner: request.owner,
        status,
        cursor,
        limit,
        ...(sweep !== undefined ? { sweepId: sweep } : { singles: cells === 'exclude' }),
      });
      let next: string | null = null;
      if (page.nextCursor !== null) {
        const qs = new URLSearchParams({ cursor: page.nextCursor, limit: String(limit) });
        if (status) qs.set('status', status);
        if (sweep !== undefined) qs.set('sweep', sweep);
        else if (cells === 'include') qs.set('cells', 'include');
        next = `/v1/jobs?${qs.toString()}`;
      }
      return { items: page.items.map(toJob), nextCursor: page.nextCursor, links: { next } };
    },
  );

  app.get(
    '/jobs/:id',
    {
      schema: {
        tags: ['jobs'],
        operationId: 'getJob',
        summary: 'One job: status, progress and summary',
        params: JobParams,
        response: { 200: Job, ...problems(errors.VALIDATION, errors.JOB_NOT_FOUND) },
      },
    },
    async (request) => {
      const record = await service.get(request.params.id, request.owner);
      if (!record) throw new errors.JOB_NOT_FOUND(request.params.id);
      return toJob(record);
    },
  );

  app.delete(
    '/jobs/:id',
    {
      schema: {
        tags: ['jobs'],
        operationId: 'cancelJob',
        summary: 'Cancel a queued or running job',
        description:
          'Answers with the job as it stands; its stream ends with a `done` event of status `cancelled`. 409 once the job has ended.',
        params: JobParams,
        response: { 200: Job, ...problems(errors.VALIDATION, errors.JOB_NOT_FOUND, errors.JOB_ENDED) },
      },
    },
    async (request) => {
      const record = await service.cancel(request.params.id, request.owner);
      request.log.info('job cancel requested');
      return toJob(record);
    },
  );

  app.get(
    '/jobs/:id/result',
    {
      schema: {
        tags: ['jobs'],
        operationId: 'getJobResult',
        summary: 'The job, its summary and the whole series (columnar JSON, or CSV)',
        description:
          'JSON: one array entry per recorded step. `?format=csv`: one row per recorded step, one column per scalar and per layer norm (`W1.gradNorm`, …); non-finite values as NaN, Infinity, -Infinity. A running job gives its series so far.',
        params: JobParams,
        querystring: ResultQuery,
        response: {
          200: {
            description: 'The result.',
            content: {
              'application/json': { schema: JobResult },
              'text/csv': { schema: z.string().describe('step,loss,gradNorm,…,W1.gradNorm,W1.weightNorm,…') },
            },
          },
          ...problems(errors.VALIDATION, errors.JOB_NOT_FOUND),
        },
      },
    },
    async (request, reply) => {
      const result = await service.result(request.params.id, request.owner);
      if (!result) throw new errors.JOB_NOT_FOUND(request.params.id);
      // Streamed from the columns in chunks as the client reads (result-stream.ts): a long run's
      // series may be hundreds of MB of text, which must never be built whole on the main thread.
      if (request.query.format === 'csv') {
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `inline; filename="${result.job.id}.csv"`)
          .send(resultCsvStream(result.series) as never); // a stream: the typed reply schema does not apply
      }
      return reply
        .type('application/json; charset=utf-8')
        .send(resultJsonStream(toJob(result.job), result.summary, result.series) as never);
    },
  );
};
