/**
 * The process entry: reads the configuration from the environment, builds the app, listens, and
 * shuts down gracefully on SIGTERM / SIGINT. Nothing else lives here.
 *
 * Shutdown order, and why:
 * 1. drain: /readyz turns 503 (load balancers stop routing) and new jobs are refused, while the
 *    server still answers reads and streams, so clients watching a running job see it finish;
 * 2. the job service closes: running jobs get SHUTDOWN_GRACE_S to finish, the rest stay queued
 *    in the store for the next start, the store is closed;
 * 3. the app closes: the listener stops, WebSockets are closed with 1001 by the app's close hooks;
 * 4. exit 0. A second signal, or a shutdown that overruns its grace by far, exits 1 at once.
 */
import { pino } from 'pino';
import { buildApp } from './app.js';
import { loadConfig } from './config.js';

// Beyond the grace, closing the store, the pool and the sockets should take seconds at most.
const HARD_STOP_MARGIN_MS = 15_000;

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    pino().fatal({ err }, 'invalid configuration');
    process.exit(1);
  }

  const app = await buildApp(config);
  const graceMs = Math.max(0, config.shutdownGraceS * 1000);

  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (stopping) {
      app.log.warn({ signal }, 'second signal during shutdown: exiting now');
      process.exit(1);
    }
    stopping = true;
    const started = Date.now();
    app.log.info({ signal, graceMs }, 'shutting down: draining');
    setTimeout(() => {
      app.log.error({ graceMs }, 'shutdown overran its grace: exiting');
      process.exit(1);
    }, graceMs + HARD_STOP_MARGIN_MS).unref();
    try {
      app.gl.drain();
      // Closed here rather than in app.close() so that the listener stays up while jobs finish:
      // /readyz says 503 and streams deliver the last events. The app's own onClose then finds
      // the service closed (close is idempotent).
      await app.gl.service.close({ graceMs });
      await app.close();
      app.log.info({ ms: Date.now() - started }, 'shut down cleanly');
      process.exit(0);
    } catch (err) {
      app.log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', (signal) => void shutdown(signal));
  process.on('SIGINT', (signal) => void shutdown(signal));
  // A bug that escapes every handler leaves the process in an unknown state: log it as JSON like
  // everything else and exit; jobs it was running are re-run on the next start.
  process.on('uncaughtException', (err) => {
    app.log.fatal({ err }, 'uncaught exception: exiting');
    process.exit(1);
  });

  const address = await app.listen({ port: config.port, host: config.host });
  const bound = app.server.address();
  app.log.info(
    { address, port: typeof bound === 'object' && bound ? bound.port : config.port },
    'gradient lab listening',
  );
}

main().catch((err: unknown) => {
  pino().fatal({ err }, 'failed to start');
  process.exit(1);
});
