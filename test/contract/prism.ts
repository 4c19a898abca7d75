/**
 * Stoplight Prism's validating proxy (`prism proxy openapi.yaml <upstream> --errors`), started as a
 * child process: every response that passes through it is checked against openapi.yaml by a
 * validator that is not ours. With request validation on, Prism answers invalid requests itself;
 * deliberately bad requests go through a second proxy started with `--validate-request=false`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import path from 'node:path';
import { ROOT } from '../ops/process.js';

const require = createRequire(import.meta.url);

export interface PrismProxy {
  url: string;
  child: ChildProcess;
  output: string[];
  stop(): Promise<void>;
}

/** A port free right now on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** Starts the proxy in front of `upstream` and resolves once it forwards a request. */
export async function startPrism(upstream: string, options: { validateRequest: boolean }): Promise<PrismProxy> {
  const port = await freePort();
  const cli = path.join(path.dirname(require.resolve('@stoplight/prism-cli/package.json')), 'dist', 'index.js');
  const args = [cli, 'proxy', path.join(ROOT, 'openapi.yaml'), upstream, '--errors', '-p', String(port)];
  if (!options.validateRequest) args.push('--validate-request=false');
  args.push('-v', 'warn');
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout!.on('data', (c: Buffer) => output.push(c.toString()));
  child.stderr!.on('data', (c: Buffer) => output.push(c.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prism exited (${child.exitCode}):\n${output.join('')}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`prism did not answer within 90 s:\n${output.join('')}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    child,
    output,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
