/**
 * A job's events, live: over a WebSocket (/v1/jobs/:id/stream) and as NDJSON over plain HTTP
 * (/v1/jobs/:id/events). Both replay from `?from=seq`, go live, send `done`, and end.
 *
 * Memory per client is bounded: see ./event-stream.ts, which serves sweeps the same way; the
 * route pair is registered by ./event-routes.ts.
 */
import type { FastifyPluginAsync } from 'fastify';
import { JobParams } from '../contract/api.js';
import { JobEvent } from '../contract/events.js';
import { errors } from '../errors.js';
import type { JobService, Owner } from '../runtime/types.js';
import { registerEventRoutes } from './event-routes.js';
import type { StreamSource } from './event-stream.js';
import { requireJob, type V1Options } from './shared.js';

export { WS_CLOSE } from './event-stream.js';

const ENDED: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled']);

export const streamRoutes: FastifyPluginAsync<V1Options> = async (app, opts) => {
  const service = opts.services.jobs;
  registerEventRoutes(app, {
    path: '/jobs/:id',
    params: JobParams,
    event: JobEvent,
    eventName: 'JobEvent',
    notFound: errors.JOB_NOT_FOUND,
    limits: { maxBuffer: opts.wsMaxBufferBytes, stallMs: opts.wsStallMs, pingMs: opts.wsPingMs },
    require: (request, id) => requireJob(service, request, id),
    source: (id, owner) => jobSource(service, id, owner),
    socket: {
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
    },
    ndjson: {
      operationId: 'getJobEvents',
      summary: 'NDJSON: the job’s events (replay from `from`, then live, then `done`)',
      description:
        'One JobEvent JSON object per line, in seq order, exactly once from `from` on; the response ends after `done`. For notebooks and scripts.',
    },
  });
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
