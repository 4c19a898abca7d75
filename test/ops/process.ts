/**
 * Process-level helpers for the ops tests: spawn the real server entry (`node --import tsx
 * src/server.ts`), learn its port from its own "listening" log line, poll endpoints with bounded
 * retries, and read the NDJSON event stream.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { JobEvent } from '../../src/contract/events.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** Every stdout/stderr line so far (pino JSON lines, mostly). */
  lines: string[];
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts src/server.ts with PORT=0 on 127.0.0.1 and resolves once it logs its address. */
export async function startServer(env: Record<string, string>, timeoutMs = 30_000): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      WORKERS: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not log its address within ${timeoutMs} ms:\n${lines.join('\n')}`));
    }, timeoutMs);
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      let nl = buffered.indexOf('\n');
      while (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        lines.push(line);
        try {
          const entry = JSON.parse(line) as { msg?: string; port?: number };
          if (entry.msg === 'gradient lab listening' && typeof entry.port === 'number') {
            clearTimeout(timer);
            resolve(`http://127.0.0.1:${entry.port}`);
          }
        } catch {
          // not JSON: a stack trace or a warning, kept in `lines` for the failure message
        }
        nl = buffered.indexOf('\n');
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? signal}) before listening:\n${lines.join('\n')}`));
    });
  });
  return { child, url, lines, exited };
}

/** How long and how often `vi.waitFor` polls state only the server can tell. */
export const WAIT = { timeout: 30_000, interval: 25 } as const;

export async function json<T = unknown>(url: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

export async function submit(url: string, spec: unknown): Promise<{ id: string }> {
  const res = await json<{ id: string }>(`${url}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(spec),
  });
  if (res.status !== 202) throw new Error(`POST /v1/jobs → ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

export interface JobView {
  id: string;
  status: string;
  progress: { step: number; steps: number };
  lastSeq: number;
}

export async function getJob(url: string, id: string): Promise<JobView> {
  const res = await json<JobView>(`${url}/v1/jobs/${id}`);
  if (res.status !== 200) throw new Error(`GET /v1/jobs/${id} → ${res.status}`);
  return res.body;
}

/**
 * Reads GET /v1/jobs/:id/events?from=… and hands each event to `onEvent`; resolves with every
 * event read when the stream ends, or when `onEvent` returns true (then the request is aborted,
 * as a client that goes away would).
 */
export async function readEvents(
  url: string,
  id: string,
  from: number,
  onEvent: (event: JobEvent) => boolean | undefined = () => undefined,
): Promise<JobEvent[]> {
  const abort = new AbortController();
  const res = await fetch(`${url}/v1/jobs/${id}/events?from=${from}`, { signal: abort.signal });
  if (res.status !== 200 || !res.body) throw new Error(`GET events → ${res.status}`);
  const events: JobEvent[] = [];
  const decoder = new TextDecoder();
  let buffered = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true });
      let nl = buffered.indexOf('\n');
      while (nl >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line) {
          const event = JSON.parse(line) as JobEvent;
          events.push(event);
          if (onEvent(event) === true) {
            abort.abort();
            return events;
          }
        }
        nl = buffered.indexOf('\n');
      }
    }
  } catch (err) {
    // The server going away mid-stream (SIGKILL) ends the read; what arrived is the client's view.
    if (!abort.signal.aborted && !(err instanceof TypeError)) throw err;
  }
  return events;
}

/** Raw bytes of a GET, for byte-for-byte comparisons. */
export async function bytes(url: string): Promise<{ status: number; type: string | null; body: string }> {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}
