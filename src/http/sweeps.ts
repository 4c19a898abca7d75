/**
 * /v1/sweeps: create a sweep, read its grid (JSON or CSV), follow its cell events (WebSocket and
 * NDJSON, resumable with `from`), cancel it. The sweep service comes from the composition root
 * (src/services.ts).
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  type Sweep,
  SweepEvent,
  type SweepEvent as SweepEventT,
  SweepList,
  SweepListQuery,
  SweepParams,
  SweepPreset,
  SweepPresetList,
  SweepQuery,
  SweepRequest,
  SweepResource,
  SweepWithLinks,
} from '../contract/sweep.js';
import { sweepPresets } from '../contract/sweep-presets.js';
import { errors } from '../errors.js';
import { toCsv } from '../runtime/sweep/grid.js';
import type { SweepService, SweepView } from '../runtime/sweep/service.js';
import { registerEventRoutes } from './event-routes.js';
import type { StreamLimits, StreamSource } from './event-stream.js';
import { BODY_ERRORS, problems, type V1Options } from './shared.js';

function sweepPath(id: string): string {
  return `/v1/sweeps/${encodeURIComponent(id)}`;
}

function withLinks(sweep: Sweep) {
  const self = sweepPath(sweep.id);
  return {
    ...sweep,
    links: { self, csv: `${self}?format=csv`, stream: `${self}/stream`, events: `${self}/events` },
  };
}

async function requireSweep(sweeps: SweepService, request: FastifyRequest, id: string): Promise<SweepView> {
  const view = await sweeps.get(id, request.owner);
  if (!view) throw new errors.SWEEP_NOT_FOUND(id);
  return view;
}

/** The /v1/sweeps routes, to register inside the /v1 scope (API keys and problem handlers apply). */
export const sweepRoutes: FastifyPluginAsync<V1Options> = async (base, opts) => {
  const app = base.withTypeProvider<ZodTypeProvider>();
  const sweeps = opts.services.sweeps;
  const limits: StreamLimits = { maxBuffer: opts.wsMaxBufferBytes, stallMs: opts.wsStallMs, pingMs: opts.wsPingMs };
  // Served with every default filled in, exactly as a POST of each request would see it.
  const parsedPresets = sweepPresets.map((p) => SweepPreset.parse(p));

  app.post(
    '/sweeps',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Start a sweep: one job per cell of the axes’ cartesian product',
        description: [
          'Up to three axes, each a dotted job-spec path and its values; cells are laid out row-major (last axis fastest).',
          'Every cell keeps the base seed (common random numbers): differences between cells come from the axes, not the noise.',
          '422 GL_ERR_SWEEP_INVALID when a path names no field, a value is refused (the cell is named), or the grid is over',
          'the cell budget (10,000) or the work budget (sum over cells of the estimated FLOPs).',
        ].join(' '),
        body: SweepRequest,
        response: { 202: SweepWithLinks, ...problems(...BODY_ERRORS, errors.SWEEP_INVALID, errors.DRAINING) },
      },
    },
    async (request, reply) => {
      if (opts.isDraining()) throw new errors.DRAINING();
      const view = await sweeps.create(request.body, request.owner);
      const body = withLinks(view.sweep);
      return reply.code(202).header('location', body.links.self).send(body);
    },
  );

  app.get(
    '/sweeps',
    {
      schema: {
        tags: ['jobs'],
        summary: 'The most recent sweeps (without their grids)',
        querystring: SweepListQuery,
        response: { 200: SweepList, ...problems(errors.VALIDATION) },
      },
    },
    async (request) => {
      const list = await sweeps.list(request.owner, request.query.limit);
      return { items: list.map(withLinks) };
    },
  );

  app.get(
    '/sweeps/presets',
    {
      schema: {
        tags: ['jobs'],
        summary: 'The classic results as ready sweeps (He 2015, Schoenholz 2017, Pascanu 2013, the textbook)',
        description: 'Each `request` is a POST /v1/sweeps body.',
        response: { 200: SweepPresetList, ...problems() },
      },
    },
    async () => ({ items: parsedPresets }),
  );

  app.get(
    '/sweeps/:id',
    {
      schema: {
        tags: ['jobs'],
        summary: 'A sweep: status, progress, theory lines and the grid (`?format=csv` for pandas)',
        description:
          'The CSV has one row per cell: a column per axis (named by its path, holding the value the field takes), and `<path>.label` beside it for an axis with labels, then index, jobId, status, outcome, firstNonFiniteStep, firstLoss, finalLoss, maxGradNorm, layerGradRatio, backwardGain and the predictions. Non-finite values are "NaN", "Infinity", "-Infinity"; missing values are empty.',
        params: SweepParams,
        querystring: SweepQuery,
        response: {
          200: {
            description: 'The sweep with its grid (JSON), or text/csv.',
            content: {
              'application/json': { schema: SweepResource },
              'text/csv': { schema: z.string().describe('A column per axis, then index, jobId, status, outcome, …') },
            },
          },
          ...problems(errors.VALIDATION, errors.SWEEP_NOT_FOUND),
        },
      },
    },
    async (request, reply) => {
      const view = await requireSweep(sweeps, request, request.params.id);
      if (request.query.format === 'csv')
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="sweep-${view.sweep.id}.csv"`)
          .serializer((x: unknown) => x as string)
          .send(toCsv(view.sweep, view.cells));
      return { ...withLinks(view.sweep), cells: view.cells };
    },
  );

  app.delete(
    '/sweeps/:id',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Cancel the cells not yet done (409 once the sweep has ended)',
        params: SweepParams,
        response: { 200: SweepWithLinks, ...problems(errors.VALIDATION, errors.SWEEP_NOT_FOUND, errors.SWEEP_ENDED) },
      },
    },
    async (request) => withLinks(await sweeps.cancel(request.params.id, request.owner)),
  );

  registerEventRoutes(app, {
    path: '/sweeps/:id',
    params: SweepParams,
    event: SweepEvent,
    eventName: 'SweepEvent',
    notFound: errors.SWEEP_NOT_FOUND,
    limits,
    require: (request, id) => requireSweep(sweeps, request, id),
    source: (id, owner) => sweepSource(sweeps, id, owner),
    socket: {
      summary: 'WebSocket: a `cell` event as each cell ends (replay from `from`), then `done`',
      description:
        'One SweepEvent JSON text message per event, seq per sweep, in order and exactly once from `from` on; `done` has seq = number of cells; then close 1000. A reader that stops draining is paused, then closed with 1013 after WS_STALL_MS (reconnect with from = last seq + 1); 1001 when the server shuts down. `{"type":"cancel"}` cancels the sweep. A plain GET answers 426.',
    },
    ndjson: { summary: 'NDJSON: the sweep’s cell events (replay from `from`, then live, then `done`)' },
  });
};

/** A sweep's cell events as the shared stream code sees them. */
function sweepSource(sweeps: SweepService, id: string, owner: string | null): StreamSource<SweepEventT> {
  return {
    noun: 'sweep',
    subscribe: (from, onEvent, onEnd) => sweeps.subscribe(id, owner, { from, onEvent, onEnd }),
    ended: async () => {
      const view = await sweeps.get(id, owner);
      return view !== null && view.sweep.status !== 'running';
    },
    cancel: () => sweeps.cancel(id, owner),
  };
}
