import { describe, expect, it } from 'vitest';
import { createGraphqlClient, GraphqlRequestError } from '../../src/client/graphql-client.js';

// The client's retry rules on answers a stand-in fetch gives; against the real API, through a
// database outage: test/graphql-client-retries.test.ts.

/** A fetch that answers each call with the next of the given answers. */
function answering(answers: { status: number; body: unknown; headers?: Record<string, string> }[]) {
  const calls: string[] = [];
  const fetch = async (_url: unknown, init?: RequestInit) => {
    calls.push(String(init?.body));
    const answer = answers.shift();
    if (!answer) throw new Error('no more answers');
    return new Response(JSON.stringify(answer.body), {
      status: answer.status,
      headers: { 'content-type': 'application/json', ...answer.headers },
    });
  };
  return { fetch: fetch as typeof globalThis.fetch, calls };
}

describe('the scripts’ GraphQL client', () => {
  it('waits the retryAfterSeconds of RATE_LIMITED before trying again', async () => {
    const server = answering([
      {
        status: 429,
        body: {
          errors: [
            {
              message: 'Too many writes for this token: try again in 2 s.',
              extensions: { code: 'RATE_LIMITED', retryable: true, retryAfterSeconds: 2 },
            },
          ],
        },
      },
      { status: 200, body: { data: { ok: true } } },
    ]);
    const delays: number[] = [];
    const client = createGraphqlClient({
      endpoint: 'http://belair.test/graphql',
      retryDelayMs: 10,
      fetch: server.fetch,
      onRetry: ({ delayMs }) => void delays.push(delayMs),
    });
    expect(await client.request('{ ok }')).toEqual({ ok: true });
    expect(delays).toEqual([2000]);
    expect(server.calls).toHaveLength(2);
  }, 30_000);

  it('does not retry an error the API does not mark as transient', async () => {
    const server = answering([
      {
        status: 200,
        body: { errors: [{ message: 'no', extensions: { code: 'SERVICE_UNAVAILABLE' } }] },
      },
    ]);
    const client = createGraphqlClient({
      endpoint: 'http://belair.test/graphql',
      fetch: server.fetch,
    });
    const failure = await client.request('{ ok }').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(GraphqlRequestError);
    expect(failure).toMatchObject({
      message: 'SERVICE_UNAVAILABLE: no',
      transient: false,
      details: { status: 200, code: 'SERVICE_UNAVAILABLE' },
    });
    expect(server.calls).toHaveLength(1);
  });
});
