/**
 * `gradient-lab run <spec.json | -> [--result]`: runs one job spec without a server and prints its
 * events as NDJSON (step events, the non-finite event, done), as the service streams them, or with
 * --result the final columnar result. Exit codes: 0 ran (whatever the outcome, divergence
 * included), 2 unusable input (bad arguments, unreadable file, invalid JSON or spec).
 */
import { readFileSync } from 'node:fs';
import { JobSpec } from './contract/spec.js';
import { checkSpec, seriesToJson, simulate, stepEventAt } from './engine/index.js';

const USAGE = `Usage: gradient-lab run <spec.json | -> [--result]

Runs one job spec (the body of POST /v1/jobs) and prints its events as NDJSON:
step events, the first non-finite value if any, then done with the summary.
  -           read the spec from stdin
  --result    print the final columnar result {...series, summary} instead
Exit codes: 0 the run completed (any outcome), 2 invalid arguments or spec.`;

interface FieldError {
  path: string;
  message: string;
}

/** Lines are written in batches: one write per line would dominate a 100,000-step run. */
const FLUSH_LINES = 512;

function fail(message: string, errors: FieldError[] = []): number {
  process.stderr.write(`${JSON.stringify({ error: message, errors })}\n`);
  return 2;
}

function readSpecText(source: string): string {
  return readFileSync(source === '-' ? 0 : source, 'utf8');
}

async function run(args: string[]): Promise<number> {
  const flags = args.filter((a) => a.startsWith('--'));
  const positional = args.filter((a) => !a.startsWith('--') || a === '-');
  const unknown = flags.filter((f) => f !== '--result');
  if (unknown.length > 0) return fail(`unknown option ${unknown[0]}\n${USAGE}`);
  if (positional.length !== 1) return fail(`run takes exactly one spec file (or - for stdin)\n${USAGE}`);

  let text: string;
  try {
    text = readSpecText(positional[0]);
  } catch (err) {
    return fail(`cannot read ${positional[0]}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return fail(`the spec is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = JobSpec.safeParse(raw);
  if (!parsed.success) {
    return fail(
      'invalid job spec',
      parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
    );
  }
  const spec = parsed.data;
  const issues = checkSpec(spec);
  if (issues.length > 0) {
    return fail(
      'the job spec cannot run',
      issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
    );
  }

  const wantResult = flags.includes('--result');
  let pending: string[] = [];
  let seq = 0;
  const emit = (event: { type: string; [key: string]: unknown }) => {
    // type and seq first, as the service's stream orders them.
    pending.push(JSON.stringify(Object.assign({ type: event.type, seq: seq++ }, event)));
    if (pending.length >= FLUSH_LINES) flush();
  };
  const flush = () => {
    if (pending.length === 0) return;
    process.stdout.write(`${pending.join('\n')}\n`);
    pending = [];
  };

  const out = simulate(
    spec,
    wantResult
      ? {}
      : {
          onRecord: (series, i) => emit(stepEventAt(series, i)),
          onNonFinite: (info) => emit({ type: 'nonfinite', ...info }),
        },
  );
  if (wantResult) {
    process.stdout.write(`${JSON.stringify({ ...seriesToJson(out.series), summary: out.summary })}\n`);
  } else {
    emit({ type: 'done', status: 'succeeded', summary: out.summary });
    flush();
  }
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command !== 'run') return fail(command ? `unknown command ${command}\n${USAGE}` : USAGE);
  return run(rest);
}

// A reader that stops early (`… | head`) is not an error of the run.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

process.exitCode = await main(process.argv.slice(2));
