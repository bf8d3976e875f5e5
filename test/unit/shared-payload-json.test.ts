import type { AddressInfo } from 'node:net';
import { buildSchema, type ExecutionResult, GraphQLError } from 'graphql';
import type { ServerOptions } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { sharedPayloadJson } from '../../src/live/shared-payload-json.js';
import { rawWsMessages } from '../helpers/live-clients.js';

const TOKEN = 'known-to-this-test';
const PLACEHOLDER = `shared-payload:${TOKEN}`;
const MEMBER = `"payload":"${PLACEHOLDER}"}`;

const schema = buildSchema(`
  type Query { ok: Boolean }
  type Subscription { city: City }
  type City { name: String, payload: String }
`);
const OPERATION = { query: 'subscription { city { name payload } }' };

/** The results every subscriber receives: the same objects, as shared execution hands them over. */
const RESULTS: ExecutionResult[] = [
  { data: { city: { name: 'Gent', payload: null } } },
  // Data that spells the placeholder, its member, or a whole envelope ending with it.
  { data: { city: { name: MEMBER, payload: PLACEHOLDER } } },
  { data: { city: { name: `{"id":"a","type":"next",${MEMBER}`, payload: `"${PLACEHOLDER}"` } } },
  // Errors come first in an ExecutionResult; graphql-ws writes them last.
  { errors: [new GraphQLError(MEMBER, { extensions: { code: PLACEHOLDER } })], data: null },
];

const servers: WebSocketServer[] = [];

/** A graphql-ws server whose subscriptions yield RESULTS, with or without the shared JSON. */
async function serve(options: { shared: boolean }) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  servers.push(wss);
  const payloads = sharedPayloadJson({ token: TOKEN });
  const serverOptions: ServerOptions = {
    schema,
    subscribe: async function* () {
      yield* RESULTS;
    },
  };
  if (options.shared) {
    wss.on('connection', (socket) => payloads.wrapSend(socket));
    serverOptions.jsonMessageReplacer = payloads.replacer;
    serverOptions.onNext = (_ctx, _id, _payload, _args, result) => payloads.payloadFor(result);
  }
  useServer(serverOptions, wss, 0);
  await new Promise((resolve) => wss.once('listening', resolve));
  const { port } = wss.address() as AddressInfo;
  return { url: `ws://127.0.0.1:${port}`, stats: payloads.stats };
}

afterAll(async () => {
  for (const wss of servers) {
    for (const client of wss.clients) client.terminate();
    await new Promise((resolve) => wss.close(resolve));
  }
});

describe('shared payload JSON', () => {
  it('sends, serialising each shared result once, the very bytes graphql-ws sends by itself', async () => {
    const plain = await serve({ shared: false });
    const shared = await serve({ shared: true });
    const count = RESULTS.length + 1; // every next, then complete
    const [plainA, plainB, sharedA, sharedB] = await Promise.all([
      rawWsMessages(plain.url, 'a', OPERATION, count),
      rawWsMessages(plain.url, 'b', OPERATION, count),
      rawWsMessages(shared.url, 'a', OPERATION, count),
      rawWsMessages(shared.url, 'b', OPERATION, count),
    ]);

    expect(sharedA).toEqual(plainA);
    expect(sharedB).toEqual(plainB);
    expect(sharedA[1]).toBe(
      `{"id":"a","type":"next","payload":{"data":{"city":{"name":${JSON.stringify(MEMBER)},"payload":"${PLACEHOLDER}"}}}}`,
    );
    expect(sharedA[3]).toBe(
      `{"id":"a","type":"next","payload":{"data":null,"errors":[{"message":${JSON.stringify(MEMBER)},"extensions":{"code":"${PLACEHOLDER}"}}]}}`,
    );
    expect(sharedA[4]).toBe('{"id":"a","type":"complete"}');
    expect(shared.stats()).toEqual({ serialisations: RESULTS.length, splices: 2 * RESULTS.length });
  });

  it('leaves alone a message whose id spells the placeholder member', async () => {
    const shared = await serve({ shared: true });
    const id = `x",${MEMBER.slice(0, -1)}`;
    const messages = await rawWsMessages(shared.url, id, OPERATION, RESULTS.length + 1);
    expect(messages.map((text) => JSON.parse(text).id)).toEqual(Array(RESULTS.length + 1).fill(id));
    expect(JSON.parse(messages[0] ?? '')).toEqual({
      id,
      type: 'next',
      payload: { data: { city: { name: 'Gent', payload: null } } },
    });
  });
});
