/**
 * A job's events, live: over a WebSocket (/v1/jobs/:id/stream) and as NDJSON over plain HTTP
 * (/v1/jobs/:id/events). Both replay from `?from=seq`, go live, send `done`, and end.
 *
 * Memory per client is bounded: see ./event-stream.ts, which serves sweeps the same way.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { JobParams, StreamQuery } from '../contract/api.js';
import { JobEvent } from '../contract/events.js';
import { errors } from '../errors.js';
import type { JobService, Owner } from '../runtime/types.js';
import { NdjsonStream, type StreamLimits, type StreamSource, serveSocket } from './event-stream.js';
import { ndjsonOf, problems, requireJob, type V1Options } from './shared.js';

export { WS_CLOSE } from './event-stream.js';

const ENDED: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled']);

export const streamRoutes: FastifyPluginAsync<V1Options> = async (base, opts) => {
  const app = base.withTypeProvider<ZodTypeProvider>();
  const { service } = opts;
  const limits: StreamLimits = { maxBuffer: opts.wsMaxBufferBytes, stallMs: opts.wsStallMs, pingMs: opts.wsPingMs };

  app.route({
    method: 'GET',
    url: '/jobs/:id/stream',
    schema: {
      tags: ['streams'],
      operationId: 'streamJobEvents',
      summary: 'WebSocket: the job’s events (replay from `from`, then live, then `done`)',
      description: [
        'Upgrade to a WebSocket. The server sends one text message per event, each a `JobEvent` JSON object,',
        'in seq order and exactly once from `from` on, then `done`, then closes with 1000.',
        'Closes with 1013 when the client reads too slowly (reconnect with `from` = last seq + 1),',
        '1001 when the server shuts down, 4404 if the job is deleted meanwhile.',
        'The client may send `{"type":"cancel"}` to cancel the job. The server pings every WS_PING_MS.',
        'A plain GET without the upgrade answers 426.',
      ].join(' '),
      params: JobParams,
      querystring: StreamQuery,
      response: {
        101: {
          description: 'Switching protocols; the messages are JobEvent objects.',
          content: { 'application/json': { schema: JobEvent } },
        },
        ...problems(errors.VALIDATION, errors.JOB_NOT_FOUND, errors.UPGRADE_REQUIRED),
      },
    },
    preHandler: async (request) => {
      await requireJob(service, request, request.params.id);
    },
    handler: async (request) => {
      throw new errors.UPGRADE_REQUIRED(request.url.split('?')[0]);
    },
    wsHandler: (socket, request) => {
      serveSocket(
        socket,
        jobSource(service, request.params.id, request.owner),
        request.query.from,
        limits,
        request.log,
      );
    },
  });

  app.get(
    '/jobs/:id/events',
    {
      schema: {
        tags: ['streams'],
        operationId: 'getJobEvents',
        summary: 'NDJSON: the job’s events (replay from `from`, then live, then `done`)',
        description:
          'One JobEvent JSON object per line, in seq order, exactly once from `from` on; the response ends after `done`. For notebooks and scripts.',
        params: JobParams,
        querystring: StreamQuery,
        response: {
          200: {
            description: 'One JobEvent JSON object per line (schema: #/components/schemas/JobEvent).',
            content: { 'application/x-ndjson': { schema: ndjsonOf('JobEvent') } },
          },
          ...problems(errors.VALIDATION, errors.JOB_NOT_FOUND),
        },
      },
    },
    async (request, reply) => {
      await requireJob(service, request, request.params.id);
      const stream = new NdjsonStream(jobSource(service, request.params.id, request.owner), request.query.from, limits);
      stream.on('error', (err) => request.log.warn({ err }, 'event stream failed'));
      return reply
        .type('application/x-ndjson; charset=utf-8')
        .header('cache-control', 'no-store')
        .header('x-accel-buffering', 'no')
        .send(stream as never);
    },
  );
};

/** A job's event log as the shared stream code sees it. */
function jobSource(service: JobService, id: string, owner: Owner): StreamSource<JobEvent> {
  return {
    noun: 'job',
    subscribe: (from, onEvent, onEnd) => service.subscribe(id, owner, { from, onEvent, onEnd }),
    ended: async () => {
      const job = await service.get(id, owner);
      return job !== null && ENDED.has(job.status);
    },
    cancel: () => service.cancel(id, owner),
  };
}
