/** The dashboard's files (public/) at /, and uPlot from node_modules at /vendor/uplot/. */
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import fp from 'fastify-plugin';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export default fp(
  async (app) => {
    const publicDir = path.join(root, 'public');
    if (!existsSync(publicDir)) mkdirSync(publicDir, { recursive: true });
    await app.register(fastifyStatic, { root: publicDir, prefix: '/', index: ['index.html'] });
    await app.register(fastifyStatic, {
      root: path.dirname(require.resolve('uplot/dist/uPlot.esm.js')),
      prefix: '/vendor/uplot/',
      decorateReply: false,
    });
  },
  { name: 'gradient-lab-static' },
);
