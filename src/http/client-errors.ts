/**
 * Errors Node's HTTP parser raises before Fastify sees a request (conflicting Content-Length, bad
 * chunked encoding, headers over the size limit…) as application/problem+json, like every other
 * error (issue 11, defect 8); Fastify's default answers `{"error":"Bad Request",…}`. The socket is
 * closed after the answer: the parser cannot find the next request in what follows.
 */
import type { Socket } from 'node:net';
import type { FastifyServerOptions } from 'fastify';
import { problemType } from './problem.js';

/** Node's parser codes with a status of their own; every other parse error is a 400. */
const STATUS: Record<string, { status: number; title: string; detail: string }> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    title: 'Request Header Fields Too Large',
    detail: 'The request headers are larger than the server accepts (16 KiB); send fewer or shorter headers',
  },
  HPE_UNEXPECTED_CONTENT_LENGTH: {
    status: 400,
    title: 'Bad Request',
    detail: 'The request has both Content-Length and Transfer-Encoding, or Content-Length values that disagree',
  },
  HPE_INVALID_CHUNK_SIZE: {
    status: 400,
    title: 'Bad Request',
    detail: 'The chunked request body is malformed (a chunk size is not hexadecimal)',
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    title: 'Request Timeout',
    detail: 'The request did not arrive in time',
  },
};

export const clientErrorHandler: NonNullable<FastifyServerOptions['clientErrorHandler']> = (
  err: Error & { code?: string },
  socket: Socket,
) => {
  // A reset or a socket already gone has no one to answer.
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const known = err.code ? STATUS[err.code] : undefined;
  const status = known?.status ?? 400;
  const code = 'GL_ERR_BAD_REQUEST';
  const body = JSON.stringify({
    type: problemType(code),
    title: known?.title ?? 'Bad Request',
    status,
    detail: known?.detail ?? `The request is not valid HTTP (${err.code ?? 'parse error'})`,
    code,
    instance: '',
  });
  socket.end(
    `HTTP/1.1 ${status} ${known?.title ?? 'Bad Request'}\r\n` +
      'Content-Type: application/problem+json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
};
