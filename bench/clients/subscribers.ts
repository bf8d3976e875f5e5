import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { processRequests, sendReady, serveRequests } from '../lib/child-rpc.js';

/**
 * The fan-out load: many WebSocket subscribers in one process of their own, speaking the
 * graphql-transport-ws protocol (connection_init, subscribe, next). Subscriber i follows city
 * i mod cities.length. Driven by the fan-out scenario over IPC:
 *   open    → opens more sockets, resolves when each has its first message (the current window)
 *   arm     → from now on, notes when each subscriber receives its next message
 *   collect → waits until every armed subscriber has one (or the timeout), returns the instants
 *             and the CPU time this process spent from arm to the last one
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
let armedCpuMs = 0;
let lastCpuMs = 0;
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
          if (remaining === 0) {
            lastCpuMs = processRequests.cpuMs();
            whenAllReceived?.();
          }
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
  ...processRequests,
  async open(args) {
    const { url, count, cities, query, concurrency } = args as {
      url: string;
      count: number;
      cities: string[];
      query: string;
      concurrency: number;
    };
    // Source addresses to spread the sockets over (one, or several): a socket bound to a given
    // address takes a free port of that address, a search that grows with the sockets already
    // bound there (10,000 sockets on one address cost this process ten times the CPU of 5,000).
    const addresses = (args.localAddresses ?? [args.localAddress]) as string[];
    const started = now();
    const first = subscribers.length;
    const total = first + count;
    subscribers.length = total;
    const counted = new Uint32Array(total);
    counted.set(pushes.subarray(0, first));
    pushes = counted;
    if (first === 0) errors = [];
    let next = first;
    const worker = async () => {
      while (next < total) {
        const index = next++;
        subscribers[index] = await openOne(
          index,
          url,
          query,
          cities[index % cities.length] as string,
          addresses[index % addresses.length] as string,
        );
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
    return { opened: count, ms: now() - started };
  },
  arm() {
    receivedAt = new Float64Array(subscribers.length).fill(Number.NaN);
    remaining = subscribers.length;
    armed = true;
    armedCpuMs = processRequests.cpuMs();
    lastCpuMs = Number.NaN;
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
    return {
      times: Array.from(receivedAt),
      missing: remaining,
      errors: errors.slice(0, 5),
      cpuMs: lastCpuMs - armedCpuMs,
    };
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
