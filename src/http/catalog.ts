/**
 * /v1/analysis (what a network's initial weights do to a signal, computed on the spot) and
 * /v1/presets (the textbook scenarios as ready job specs).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { AnalysisRequest, AnalysisResult } from '../contract/analysis.js';
import { PresetCatalog, presets } from '../contract/presets.js';
import { sweepPresets } from '../contract/sweep-presets.js';
import { checkAnalysis, checkAnalysisBudget } from '../engine/analysis/index.js';
import { errors } from '../errors.js';
import { inputFormOf } from './openapi.js';
import { BODY_ERRORS, problems, type V1Options } from './shared.js';

// The catalogue is constant: serialize it once.
const presetsJson = JSON.stringify({ presets, sweeps: sweepPresets });

export const catalogRoutes: FastifyPluginAsync<V1Options> = async (base, opts) => {
  const app = base.withTypeProvider<ZodTypeProvider>();
  const pool = opts.services.analysis;

  app.post(
    '/analysis',
    {
      schema: {
        tags: ['analysis'],
        operationId: 'analyzeNetwork',
        summary: 'Analyse a network at initialization',
        description:
          'Per-layer singular values, the partial products W_k…W_1 and their spectral norms, the full product when small, gain^L for scaled-identity nets, Pascanu et al. conditions for rnn, and the mean-field χ₁ for random inits. Computed on the spot, in a worker thread; 422 when the shapes do not fit or the analysis would exceed its time budget.',
        body: AnalysisRequest,
        response: {
          200: AnalysisResult,
          ...problems(...BODY_ERRORS, errors.SPEC_IMPOSSIBLE, errors.OVER_BUDGET, errors.QUEUE_FULL),
        },
      },
    },
    async (request) => {
      const issues = checkAnalysis(request.body);
      if (issues.length > 0) {
        const fields = issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
        // checkAnalysis reports shape problems first and the time budget only for a well-formed network.
        const budget = checkAnalysisBudget(request.body.network);
        const overBudget = budget.length > 0 && issues.every((i) => budget.some((b) => b.message === i.message));
        throw overBudget ? new errors.OVER_BUDGET(fields) : new errors.SPEC_IMPOSSIBLE(fields);
      }
      return pool.run(request.body);
    },
  );

  app.get(
    '/presets',
    {
      schema: {
        tags: ['analysis'],
        operationId: 'listPresets',
        summary: 'The textbook scenarios, each a ready job spec with its mitigated variants',
        description:
          'Submit a preset’s `spec` (or a variant’s) as is to POST /v1/jobs. Each preset names the phenomenon it shows and the outcome its run summary reports.',
        response: {
          // Presets hold the short form a client submits (defaults left out): the input schema.
          200: {
            description: 'The catalogue.',
            content: { 'application/json': { schema: inputFormOf(PresetCatalog) } },
          },
          ...problems(),
        },
      },
    },
    async (_request, reply) =>
      reply
        .type('application/json; charset=utf-8')
        .serializer((x: unknown) => x as string)
        .send(presetsJson as never),
  );
};
