import type { IncomingMessage, ServerResponse } from 'node:http';

/** How much of an oversized body is read and thrown away before the connection is cut. */
const DRAIN_FACTOR = 16;

function payloadTooLarge(res: ServerResponse, limit: number): void {
  const body = JSON.stringify({
    errors: [
      {
        message: `The request body is larger than the limit of ${limit} bytes (MAX_BODY_BYTES): send smaller batches.`,
        extensions: { code: 'PAYLOAD_TOO_LARGE' },
      },
    ],
  });
  res.writeHead(413, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  });
  res.end(body);
}

/**
 * Reads a request body of at most `limit` bytes. Beyond it, answers 413 and returns null. The
 * oversized body is still read to its end before the answer goes out: a server that answers and
 * closes while the client is still sending makes the client see a reset connection instead of
 * the 413. A body far beyond the limit (DRAIN_FACTOR times) is cut off.
 */
export function readBodyWithin(
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = declared > limit;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      if (tooLarge) {
        chunks.length = 0;
        if (size > limit * DRAIN_FACTOR) {
          payloadTooLarge(res, limit);
          req.destroy();
          resolve(null);
        }
      } else {
        chunks.push(chunk);
      }
    });
    req.on('end', () => {
      if (tooLarge) {
        payloadTooLarge(res, limit);
        resolve(null);
      } else {
        resolve(Buffer.concat(chunks, size));
      }
    });
    req.on('error', reject);
  });
}
