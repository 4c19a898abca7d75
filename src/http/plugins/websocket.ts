/**
 * WebSockets (@fastify/websocket) with a shutdown that does not wait on clients: open sockets get
 * a 1001 close, and whatever has not answered the handshake after WS_CLOSE_WAIT_MS is cut.
 */
import fastifyWebsocket from '@fastify/websocket';
import fp from 'fastify-plugin';
import { errors } from '../../errors.js';
import { WS_CLOSE } from '../event-stream.js';
import { sendProblem } from '../problem.js';

/** How long shutdown waits for WebSocket clients to acknowledge the 1001 close. */
const WS_CLOSE_WAIT_MS = 1000;
const MAX_PAYLOAD = 64 * 1024;

export default fp(
  async (app) => {
    await app.register(fastifyWebsocket, {
      options: { maxPayload: MAX_PAYLOAD },
      preClose(done) {
        const wss = app.websocketServer;
        const pending: Promise<void>[] = [];
        for (const client of wss.clients) {
          if (client.readyState === client.OPEN) {
            pending.push(new Promise((resolve) => client.once('close', () => resolve())));
            client.close(WS_CLOSE.goingAway, 'server shutting down');
          } else {
            // Already closing: the handshake is done from our side; do not wait on the peer's TCP.
            client.terminate();
          }
        }
        // A client that never answers the close handshake must not hold the shutdown for ws's 30 s
        // close timeout: give the handshakes a moment, then cut what is left.
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, WS_CLOSE_WAIT_MS);
        });
        void Promise.race([Promise.all(pending), timeout]).then(() => {
          clearTimeout(timer);
          for (const client of wss.clients) client.terminate();
          wss.close();
          done();
        });
      },
    });
    // Upgrades only where a route serves a WebSocket (the stream routes). @fastify/websocket would
    // answer 101 on any route and then close; elsewhere the upgrade is refused with a problem+json
    // 400 on the plain HTTP response, never switching protocols (issue 11, defect 8).
    app.addHook('onRoute', (route) => {
      if (route.wsHandler || route.websocket)
        route.config = { ...route.config, acceptsUpgrade: true } as typeof route.config;
    });
    app.addHook('onRequest', async (request, reply) => {
      if (!request.ws || request.is404) return;
      if ((request.routeOptions.config as { acceptsUpgrade?: boolean } | undefined)?.acceptsUpgrade) return;
      return sendProblem(
        request,
        reply,
        new errors.BAD_REQUEST(
          'WebSocket upgrades are accepted on the stream routes only (/v1/jobs/:id/stream, /v1/sweeps/:id/stream)',
        ),
      );
    });
  },
  { name: 'gradient-lab-websocket' },
);
