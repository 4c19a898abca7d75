/**
 * `gradient-lab run <spec.json | -> [--result]`: runs one job spec without a server and prints its
 * events as NDJSON (step events, the non-finite event, done), as the service streams them, or with
 * --result the final columnar result. Exit codes: 0 ran (whatever the outcome, divergence
 * included), 2 unusable input (bad arguments, unreadable file, invalid JSON or spec), reported as
 * plain text on stderr, one `path: message` line per bad field, with "did you mean …?" for typos.
 *
 * bin/gradient-lab.js runs the compiled dist/cli.js; the contract and the engine are imported only
 * once a spec is to be run, so `--help` and a usage error answer at once.
 */
import { readFileSync } from 'node:fs';
import { type FieldError, fieldErrorsFromIssues, nearest, withSuggestions } from './suggest.js';

export const USAGE = `Usage: gradient-lab run <spec.json | -> [--result]
       gradient-lab --help

Runs one job spec (the body of POST /v1/jobs) in the foreground, without a server,
and prints its events as NDJSON: one step event per recorded step, the first
non-finite value if any, then "done" with the run's summary.

Options:
  -            read the spec from stdin
  --result     print only the final columnar result {...series, summary}
  -h, --help   print this help

Examples:
  gradient-lab run examples/specs/textbook-exploding.json
  gradient-lab run examples/specs/textbook-clipped.json --result | jq .summary

Ready specs: examples/specs/. Fields and defaults: README.md "The job spec".
Exit codes: 0 the run completed (whatever its outcome, NaN included),
            2 bad arguments, an unreadable file, invalid JSON or an invalid spec.
`;

/** Lines are written in batches: one write per line would dominate a 100,000-step run. */
const FLUSH_LINES = 512;

/** Reports unusable input on stderr as plain text, one line per bad field; returns exit code 2. */
function fail(message: string, errors: FieldError[] = [], hint = true): number {
  const lines = [`gradient-lab: ${message}`];
  for (const e of errors) lines.push(`  ${e.path === '' ? '(the spec)' : e.path}: ${e.message}`);
  if (hint) lines.push('Run "gradient-lab --help" for usage.');
  process.stderr.write(`${lines.join('\n')}\n`);
  return 2;
}

function readSpecText(source: string): string {
  return readFileSync(source === '-' ? 0 : source, 'utf8');
}

async function run(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const flags = args.filter((a) => a.startsWith('-') && a !== '-');
  const positional = args.filter((a) => !a.startsWith('-') || a === '-');
  const unknown = flags.filter((f) => f !== '--result');
  if (unknown.length > 0) {
    return fail(`unknown option ${unknown[0]}${didYouMean(unknown[0], ['--result', '--help'])}`);
  }
  if (positional.length !== 1) return fail('run takes exactly one spec file (or - for stdin)');

  let text: string;
  try {
    text = readSpecText(positional[0]);
  } catch (err) {
    return fail(`cannot read ${positional[0]}: ${(err as Error).message}`, [], false);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return fail(`${where(positional[0])} is not valid JSON: ${(err as Error).message}`, [], false);
  }
  // Loaded only now: zod and the engine are most of the start-up time.
  const [{ JobSpec }, { checkSpec, seriesToJson, simulate, stepEventAt }] = await Promise.all([
    import('./contract/spec.js'),
    import('./engine/index.js'),
  ]);
  const parsed = JobSpec.safeParse(raw);
  if (!parsed.success) {
    const errors = withSuggestions(fieldErrorsFromIssues(parsed.error.issues), JobSpec, raw);
    return fail(`${where(positional[0])} is not a valid job spec:`, errors, false);
  }
  const spec = parsed.data;
  const issues = checkSpec(spec);
  if (issues.length > 0) {
    return fail(
      `${where(positional[0])} cannot run:`,
      issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
      false,
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

function where(source: string): string {
  return source === '-' ? 'the spec on stdin' : source;
}

function didYouMean(word: string, candidates: string[]): string {
  const hit = nearest(word, candidates);
  return hit ? `; did you mean ${hit}?` : '';
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (command !== 'run') return fail(`unknown command ${command}${didYouMean(command, ['run', 'help'])}`);
  return run(rest);
}

// A reader that stops early (`… | head`) is not an error of the run.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

process.exitCode = await main(process.argv.slice(2));
