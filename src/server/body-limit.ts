import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GraphQLError } from 'graphql';
import { payloadTooLarge as payloadTooLargeError } from '../errors/expected-errors.js';

/** How much of an oversized body is read and thrown away before the connection is cut. */
const DRAIN_FACTOR = 16;

/** How long a connection answered before its body was read stays open, unread, for the client. */
const LINGER_MS = 2000;

/**
 * After an answer given before the body was read: no more of it is read, and the connection
 * closes in two steps. Node's server ends a `Connection: close` answer with socket.destroySoon(),
 * a close with the rest of the body unread, which the kernel turns into a reset; a client still
 * sending (fetch, on another process) then fails with EPIPE before it reads the answer. So this
 * end only half-closes (FIN after the answer: the client reads it, stops sending and closes), and
 * the socket is destroyed LINGER_MS later whatever the client does.
 */
function lingerUnread(req: IncomingMessage): void {
  req.pause();
  // Marks the body as consumed: otherwise Node pulls the rest off the wire to throw it away.
  req.read(0);
  const socket = req.socket;
  Object.assign(socket, {
    destroySoon: () => {
      socket.end();
      setTimeout(() => socket.destroy(), LINGER_MS).unref();
    },
  });
}

function answer(
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: string,
) {
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  });
  res.end(body);
}

/** An expected error (with extensions.http) as the whole answer, the way Yoga would send it. */
function refuse(res: ServerResponse, error: GraphQLError): void {
  const { http, ...extensions } = error.extensions as {
    http?: { status: number; headers?: Record<string, string> };
  };
  const body = JSON.stringify({ errors: [{ message: error.message, extensions }] });
  answer(res, http?.status ?? 400, http?.headers ?? {}, body);
}

export interface BodyLimit {
  /** The most bytes read. */
  readonly bytes: number;
  /**
   * A refusal to answer at once, reading no further, when the body is over `bytes` (a request
   * without a valid token: reading 8 MB to refuse it would be the cost we mean to spare). Without
   * one, an oversized body is drained and answered 413 PAYLOAD_TOO_LARGE.
   */
  readonly refusal?: GraphQLError;
}

/**
 * Reads a request body of at most `limit.bytes` bytes, or answers and returns null.
 *
 * With a refusal, the answer goes out as soon as the body is known to be too long (a declared
 * Content-Length, or the first chunk past the limit), the request stops being read and the
 * connection is closed after the answer (lingerUnread): what the server reads of the rest is what
 * its socket had buffered already. Clients that read while they send (fetch, Node's http, curl)
 * see the answer; one that reads only once it has sent everything sees the connection cut.
 *
 * Without one, the oversized body is still read to its end before the 413 goes out: a server that
 * answers and closes while the client is still sending makes a client that reads only once it has
 * sent everything see a reset connection instead of the 413. A body far beyond the limit
 * (DRAIN_FACTOR times) is cut off.
 */
export function readBodyWithin(
  req: IncomingMessage,
  res: ServerResponse,
  limit: BodyLimit,
): Promise<Buffer | null> {
  const { bytes, refusal } = limit;
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    const refuseNow = () => {
      req.removeListener('data', onData);
      req.removeListener('end', onEnd);
      lingerUnread(req);
      refuse(res, refusal as GraphQLError);
      resolve(null);
    };
    if (refusal && declared > bytes) {
      refuseNow();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = declared > bytes;
    function onData(chunk: Buffer) {
      size += chunk.length;
      if (size > bytes) tooLarge = true;
      if (tooLarge && refusal) {
        chunks.length = 0;
        refuseNow();
      } else if (tooLarge) {
        chunks.length = 0;
        if (size > bytes * DRAIN_FACTOR) {
          refuse(res, payloadTooLargeError(bytes));
          req.destroy();
          resolve(null);
        }
      } else {
        chunks.push(chunk);
      }
    }
    function onEnd() {
      if (tooLarge) {
        refuse(res, payloadTooLargeError(bytes));
        resolve(null);
      } else {
        resolve(Buffer.concat(chunks, size));
      }
    }
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', reject);
  });
}
