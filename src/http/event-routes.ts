/**
 * One helper registers a resource's pair of event routes: `<path>/stream` (WebSocket) and
 * `<path>/events` (NDJSON). Jobs and sweeps both use it with their own source, lookup and texts;
 * the serving itself is ./event-stream.ts.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { StreamQuery } from '../contract/api.js';
import { type ErrorClass, errors } from '../errors.js';
import type { Owner } from '../runtime/types.js';
import { NdjsonStream, type StreamEvent, type StreamLimits, type StreamSource, serveSocket } from './event-stream.js';
import { ndjsonOf, problems } from './shared.js';

interface RouteDoc {
  operationId?: string;
  summary: string;
  description?: string;
}

export interface EventRoutesOptions<E extends StreamEvent> {
  /** The resource's path inside /v1, with its `:id`, e.g. `/jobs/:id`. */
  path: string;
  params: z.ZodType<{ id: string }>;
  /** The event schema and its component name (`JobEvent`). */
  event: z.ZodType;
  eventName: 'JobEvent' | 'SweepEvent';
  /** The resource's 404, as the routes document it (errors.JOB_NOT_FOUND, errors.SWEEP_NOT_FOUND). */
  notFound: ErrorClass;
  limits: StreamLimits;
  /** Throws the resource's 404 unless the request's owner may see it. */
  require(request: FastifyRequest, id: string): Promise<unknown>;
  source(id: string, owner: Owner): StreamSource<E>;
  socket: RouteDoc & { description: string };
  ndjson: RouteDoc;
}

export function registerEventRoutes<E extends StreamEvent>(base: FastifyInstance, opts: EventRoutesOptions<E>): void {
  const app = base.withTypeProvider<ZodTypeProvider>();
  const ids = (request: FastifyRequest) => ({
    id: (request.params as { id: string }).id,
    from: (request.query as { from: number }).from,
  });

  app.route({
    method: 'GET',
    url: `${opts.path}/stream`,
    schema: {
      tags: ['streams'],
      ...(opts.socket.operationId ? { operationId: opts.socket.operationId } : {}),
      summary: opts.socket.summary,
      description: opts.socket.description,
      params: opts.params,
      querystring: StreamQuery,
      response: {
        101: {
          description: `Switching protocols; the messages are ${opts.eventName} objects.`,
          content: { 'application/json': { schema: opts.event } },
        },
        ...problems(errors.VALIDATION, opts.notFound, errors.UPGRADE_REQUIRED),
      },
    },
    preHandler: async (request) => {
      await opts.require(request, ids(request).id);
    },
    handler: async (request) => {
      throw new errors.UPGRADE_REQUIRED(request.url.split('?')[0]);
    },
    wsHandler: (socket, request) => {
      const { id, from } = ids(request);
      serveSocket(socket, opts.source(id, request.owner), from, opts.limits, request.log);
    },
  });

  app.get(
    `${opts.path}/events`,
    {
      schema: {
        tags: ['streams'],
        ...(opts.ndjson.operationId ? { operationId: opts.ndjson.operationId } : {}),
        summary: opts.ndjson.summary,
        ...(opts.ndjson.description ? { description: opts.ndjson.description } : {}),
        params: opts.params,
        querystring: StreamQuery,
        response: {
          200: {
            description: `One ${opts.eventName} JSON object per line (schema: #/components/schemas/${opts.eventName}).`,
            content: { 'application/x-ndjson': { schema: ndjsonOf(opts.eventName) } },
          },
          ...problems(errors.VALIDATION, opts.notFound),
        },
      },
    },
    async (request, reply) => {
      const { id, from } = ids(request);
      await opts.require(request, id);
      const source = opts.source(id, request.owner);
      const stream = new NdjsonStream(source, from, opts.limits);
      stream.on('error', (err) => request.log.warn({ err }, `${source.noun} event stream failed`));
      return reply
        .type('application/x-ndjson; charset=utf-8')
        .header('cache-control', 'no-store')
        .header('x-accel-buffering', 'no')
        .send(stream as never);
    },
  );
}
