import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * What the proxy does to one request, in order; requests beyond the list pass through.
 * - `503`: answers 503 Service Unavailable without passing the request on;
 * - `drop-answer`: passes the request on (so the API stores the batch), then cuts the connection
 *   instead of answering, as a network failure after the write would.
 */
export type Fault = '503' | 'drop-answer';

export interface FlakyProxy {
  /** The proxy's GraphQL URL. */
  readonly url: string;
  /** What happened to each request, in order: a fault, or 'passed'. */
  readonly log: (Fault | 'passed')[];
  close(): Promise<void>;
}

async function bodyOf(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** An HTTP proxy on a free port in front of `target` that fails the first requests on purpose. */
export async function startFlakyProxy(target: string, faults: Fault[]): Promise<FlakyProxy> {
  const pending = [...faults];
  const log: (Fault | 'passed')[] = [];
  const server = createServer((request, response) => {
    void (async () => {
      const body = await bodyOf(request);
      const fault = pending.shift();
      log.push(fault ?? 'passed');
      if (fault === '503') {
        response.writeHead(503, { 'content-type': 'text/plain' });
        response.end('Service Unavailable');
        return;
      }
      const headers = new Headers();
      for (const [name, value] of Object.entries(request.headers)) {
        if (typeof value === 'string' && !['host', 'content-length', 'connection'].includes(name)) {
          headers.set(name, value);
        }
      }
      const answer = await fetch(target, {
        method: request.method ?? 'POST',
        headers,
        body: new Uint8Array(body),
      });
      const text = await answer.text();
      if (fault === 'drop-answer') {
        request.socket.destroy();
        return;
      }
      response.writeHead(answer.status, {
        'content-type': answer.headers.get('content-type') ?? 'application/json',
      });
      response.end(text);
    })().catch(() => request.socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    log,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
