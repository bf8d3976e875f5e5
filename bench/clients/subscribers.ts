import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { sendReady, serveRequests } from '../lib/child-rpc.js';

/**
 * The fan-out load: many WebSocket subscribers in one process of their own, speaking the
 * graphql-transport-ws protocol (connection_init, subscribe, next). Subscriber i follows city
 * i mod cities.length. Driven by the fan-out scenario over IPC:
 *   open    → opens the sockets, resolves when each has its first message (the current window)
 *   arm     → from now on, notes when each subscriber receives its next message
 *   collect → waits until every armed subscriber has one (or the timeout), returns the instants
 *   pushes  → how many "next" messages each subscriber has received since it opened
 *   close   → closes every socket
 * Instants are epoch milliseconds with sub-millisecond precision (timeOrigin + now), comparable
 * with the bench process's on the same machine. Messages are not parsed: a "next" is recognised
 * by its type, so that the client spends as little as it can of the CPU it shares.
 */

interface Subscriber {
  readonly socket: WebSocket;
  initial: boolean;
}

let subscribers: Subscriber[] = [];
let receivedAt = new Float64Array(0);
let pushes = new Uint32Array(0);
let armed = false;
let remaining = 0;
let errors: string[] = [];
let whenAllReceived: (() => void) | undefined;

const now = () => performance.timeOrigin + performance.now();

function openOne(
  index: number,
  url: string,
  query: string,
  city: string,
  localAddress: string,
): Promise<Subscriber> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws', {
      localAddress,
      perMessageDeflate: false,
    });
    const subscriber: Subscriber = { socket, initial: false };
    const timer = setTimeout(
      () => reject(new Error(`subscriber ${index}: no first message in 60 s`)),
      60_000,
    );
    socket.on('open', () => socket.send('{"type":"connection_init"}'));
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', (code) => {
      if (!subscriber.initial) reject(new Error(`subscriber ${index}: closed with ${code}`));
    });
    socket.on('message', (data) => {
      const text = String(data);
      if (text.includes('"type":"next"')) {
        pushes[index] = (pushes[index] ?? 0) + 1;
        if (!subscriber.initial) {
          subscriber.initial = true;
          clearTimeout(timer);
          resolve(subscriber);
        } else if (armed && Number.isNaN(receivedAt[index])) {
          receivedAt[index] = now();
          remaining -= 1;
          if (remaining === 0) whenAllReceived?.();
        }
      } else if (text.includes('"type":"connection_ack"')) {
        socket.send(
          JSON.stringify({
            id: '1',
            type: 'subscribe',
            payload: { query, variables: { cities: [city] } },
          }),
        );
      } else if (text.includes('"type":"error"') || text.includes('"errors"')) {
        errors.push(text.slice(0, 300));
        if (!subscriber.initial) reject(new Error(`subscriber ${index}: ${text.slice(0, 300)}`));
      }
    });
  });
}

serveRequests({
  async open(args) {
    const { url, count, cities, query, localAddress, concurrency } = args as {
      url: string;
      count: number;
      cities: string[];
      query: string;
      localAddress: string;
      concurrency: number;
    };
    const started = now();
    subscribers = new Array(count);
    pushes = new Uint32Array(count);
    errors = [];
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const index = next++;
        subscribers[index] = await openOne(
          index,
          url,
          query,
          cities[index % cities.length] as string,
          localAddress,
        );
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
    return { opened: subscribers.length, ms: now() - started };
  },
  arm() {
    receivedAt = new Float64Array(subscribers.length).fill(Number.NaN);
    remaining = subscribers.length;
    armed = true;
    return true;
  },
  async collect(args) {
    const timeoutMs = Number(args.timeoutMs ?? 30_000);
    if (remaining > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        whenAllReceived = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    armed = false;
    whenAllReceived = undefined;
    return { times: Array.from(receivedAt), missing: remaining, errors: errors.slice(0, 5) };
  },
  pushes() {
    return Array.from(pushes);
  },
  async close() {
    const closing = subscribers.map(
      ({ socket }) =>
        new Promise<void>((resolve) => {
          if (socket.readyState === WebSocket.CLOSED) resolve();
          else {
            socket.once('close', () => resolve());
            socket.terminate();
          }
        }),
    );
    await Promise.all(closing);
    const closed = subscribers.length;
    subscribers = [];
    return closed;
  },
});

sendReady({});
