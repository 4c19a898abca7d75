/**
 * Run a textbook preset and its mitigated variant, follow both live, and compare the outcomes.
 *
 *   npx tsx clients/ts/examples/quickstart.ts [http://localhost:8080]
 *
 * Type-checked against the generated types by `npm run check`.
 */
import { createClient, type JobEvent } from '../src/index.js';

const gl = createClient({ baseUrl: process.argv[2] ?? 'http://localhost:8080', apiKey: process.env.GL_API_KEY });

const { presets } = await gl.presets();
const preset = presets.find((p) => p.phenomenon === 'exploding') ?? presets[0]!;
const variant = preset.mitigated[0];

for (const [label, spec] of [
  [preset.title, preset.spec],
  ...(variant ? [[`${variant.title} (${variant.mitigation})`, variant.spec] as const] : []),
] as const) {
  const job = await gl.submit(spec);
  let steps = 0;
  let last: JobEvent | undefined;
  for await (const event of gl.follow('job', job.id)) {
    if (event.type === 'step') steps += 1;
    last = event;
  }
  const { summary } = await gl.result(job.id);
  console.log(`${label}: ${steps} step events, ${last?.type}; outcome ${summary?.outcome ?? '—'}`);
}
