/** Fastify's logger options: pino JSON lines, keys redacted, a streamed access_token kept out of URLs. */
import type { FastifyRequest } from 'fastify';
import type { AppConfig } from '../config.js';
import { redactUrl } from './auth.js';

export function loggerOptions(level: AppConfig['logLevel'], stream?: { write(line: string): void }) {
  if (level === 'silent') return false;
  return {
    level,
    // Keys must never reach a log line, whichever serializer prints the headers.
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', 'request.headers.authorization'],
      censor: '[redacted]',
    },
    serializers: {
      // Fastify's own request serializer, with a streamed access_token kept out of the URL.
      req: (req: FastifyRequest) => ({
        method: req.method,
        url: redactUrl(req.url),
        host: req.host,
        remoteAddress: req.ip,
        remotePort: req.socket?.remotePort,
      }),
    },
    ...(stream ? { stream } : {}),
  };
}
