/**
 * Everything under /v1: the API-key check, the job id in every job route's logs, and the routes.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { type AuthOptions, authHook } from './auth.js';
import { catalogRoutes } from './catalog.js';
import { jobRoutes } from './jobs.js';
import type { V1Options } from './shared.js';
import { streamRoutes } from './stream.js';
import { sweepRoutes } from './sweeps.js';

export interface V1PluginOptions extends V1Options, AuthOptions {}

export const v1Routes: FastifyPluginAsync<V1PluginOptions> = async (app, opts) => {
  app.decorateRequest('owner', null);
  app.addHook('onRequest', authHook(opts.keyRing));
  app.addHook('preValidation', async (request: FastifyRequest, reply: FastifyReply) => {
    const id = (request.params as { id?: unknown } | undefined)?.id;
    if (typeof id === 'string') {
      // The reply's logger writes the "request completed" line: it must carry the job id too.
      request.log = request.log.child({ jobId: id });
      reply.log = request.log;
    }
  });
  // Handed on without `prefix`: fastify would prepend it a second time.
  const { prefix: _prefix, ...routeOpts } = opts as V1PluginOptions & { prefix?: string };
  await app.register(jobRoutes, routeOpts);
  await app.register(streamRoutes, routeOpts);
  await app.register(catalogRoutes, routeOpts);
  await app.register(sweepRoutes, routeOpts);
};
