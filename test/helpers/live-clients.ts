import { createClient as createSseClient } from 'graphql-sse';
import { type Client, createClient as createWsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { waitFor } from './database.js';

/** Waits until check() holds (checked every 10 ms), or fails after 20 s. */
export function until(check: () => boolean, what: string): Promise<true> {
  return waitFor(async () => (check() ? true : undefined), 20_000, what, 10);
}

/** What one subscription received, in order, whatever the transport. */
export class Received {
  // biome-ignore lint/suspicious/noExplicitAny: a test reads whatever shape the operation asked for
  readonly results: { data?: any; errors?: { message: string; extensions?: any }[] }[] = [];
  readonly failures: unknown[] = [];
  completed = false;

  /** The sink a client reports to. */
  sink() {
    return {
      next: (result: unknown) => void this.results.push(result as Received['results'][number]),
      error: (error: unknown) => void this.failures.push(error),
      complete: () => {
        this.completed = true;
      },
    };
  }

  /** Waits until check(this) holds (checked every 10 ms), or fails after timeoutMs. */
  until(check: (received: this) => boolean, what: string): Promise<true> {
    return until(() => check(this), what);
  }

  /** The data of the results, for the subscription field `field`. */
  // biome-ignore lint/suspicious/noExplicitAny: see results
  values(field: string): any[] {
    return this.results.map((result) => result.data?.[field]);
  }
}

export interface Operation {
  readonly query: string;
  readonly variables?: Record<string, unknown>;
}

/** A graphql-ws client that fails at once rather than retrying (retries would hide refusals). */
export function wsClient(
  url: string,
  options: { connectionParams?: Record<string, unknown> } = {},
) {
  return createWsClient({
    url,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
    ...(options.connectionParams ? { connectionParams: options.connectionParams } : {}),
  });
}

/** Subscribes through a graphql-ws client; dispose() completes the subscription. */
export function wsSubscribe(client: Client, operation: Operation) {
  const received = new Received();
  const dispose = client.subscribe(operation, received.sink());
  return Object.assign(received, { dispose });
}

/** Subscribes over SSE (POST, Accept: text/event-stream) with the graphql-sse client. */
export function sseSubscribe(url: string, operation: Operation) {
  const client = createSseClient({ url, retryAttempts: 0 });
  const received = new Received();
  const dispose = client.subscribe(operation, received.sink());
  return Object.assign(received, {
    dispose: () => {
      dispose();
      client.dispose();
    },
  });
}

/**
 * Subscribes over graphql-transport-ws with a bare WebSocket and resolves with the text of the
 * first `count` messages after the acknowledgement, exactly as they came off the wire.
 */
export function rawWsMessages(
  url: string,
  id: string,
  operation: Operation,
  count: number,
): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws');
    const messages: string[] = [];
    let acknowledged = false;
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
    socket.on('message', (data) => {
      const text = String(data);
      if (!acknowledged) {
        acknowledged = true;
        socket.send(JSON.stringify({ id, type: 'subscribe', payload: operation }));
        return;
      }
      messages.push(text);
      if (messages.length === count) {
        socket.close();
        resolve(messages);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed after ${messages.length} of ${count}`)));
  });
}
