import { randomBytes } from 'node:crypto';
import type { ExecutionResult, FormattedExecutionResult } from 'graphql';
import type { WebSocket } from 'ws';

/**
 * Serialises each shared subscription result once instead of once per subscriber.
 *
 * Shared execution (use-shared-execution.ts) hands every subscriber of an operation the same
 * ExecutionResult object, but graphql-ws JSON.stringifies {id, type: 'next', payload} for each
 * socket: with thousands of subscribers that is thousands of identical serialisations of the
 * payload. Here, through graphql-ws's own hooks:
 * - onNext (payloadFor) turns a result into the payload graphql-ws would send, once per result
 *   object, and keeps its JSON text;
 * - the message replacer (replacer) writes a short placeholder in place of such a payload, so
 *   that per subscriber only the envelope {"id":…,"type":"next","payload":"<placeholder>"} is
 *   stringified;
 * - each socket's send (wrapSend) puts the payload's JSON text back in place of the placeholder.
 *
 * Clients receive the very bytes graphql-ws would have sent. The placeholder holds a random
 * per-process token that never leaves the process, and only a message ending with the exact
 * member "payload":"<placeholder>" is rewritten: the payload member is the last one graphql-ws
 * writes, and a string in the data cannot produce it, as the data is never in the envelope and an
 * id chosen by a client is escaped inside its own JSON string.
 */
export interface SharedPayloadJson {
  /** graphql-ws onNext: the payload to send for a result; the same object for the same result. */
  payloadFor(result: ExecutionResult): FormattedExecutionResult;
  /** graphql-ws jsonMessageReplacer. */
  replacer(key: string, value: unknown): unknown;
  /** Makes a socket's send put the payload back in place of the placeholder. */
  wrapSend(socket: WebSocket): void;
  stats(): SharedPayloadJsonStats;
}

export interface SharedPayloadJsonStats {
  /** Payloads serialised (once per distinct result). */
  readonly serialisations: number;
  /** Messages whose payload was spliced in from a serialisation. */
  readonly splices: number;
}

/** The payload graphql-ws sends for a result it gets no other payload for. */
function graphqlWsPayload(result: ExecutionResult): FormattedExecutionResult {
  const { errors, ...withoutErrors } = result;
  return errors ? { ...withoutErrors, errors: errors.map((e) => e.toJSON()) } : withoutErrors;
}

export function sharedPayloadJson(
  options: {
    /**
     * The payload for a result when it is not graphql-ws's own; undefined: graphql-ws's own (the
     * result with its errors as JSON, last).
     */
    format?: (result: ExecutionResult) => FormattedExecutionResult | undefined;
    /** The placeholder's token; random unless a test needs to know it. */
    token?: string;
  } = {},
): SharedPayloadJson {
  const format = options.format ?? (() => undefined);
  const placeholder = `shared-payload:${options.token ?? randomBytes(16).toString('hex')}`;
  const member = `"payload":${JSON.stringify(placeholder)}}`;
  const payloads = new WeakMap<ExecutionResult, FormattedExecutionResult>();
  const texts = new WeakMap<object, string>();
  // The JSON of the payload the replacer last swapped out. graphql-ws stringifies a message and
  // hands it to the socket in one synchronous step, so a message ending with the placeholder
  // member is always the one the replacer has just written.
  let pending = '';
  let serialisations = 0;
  let splices = 0;

  return {
    payloadFor(result) {
      let payload = payloads.get(result);
      if (payload === undefined) {
        payload = format(result) ?? graphqlWsPayload(result);
        texts.set(payload, JSON.stringify(payload));
        payloads.set(result, payload);
        serialisations += 1;
      }
      return payload;
    },
    replacer(key, value) {
      if (key !== 'payload' || value === null || typeof value !== 'object') return value;
      const text = texts.get(value);
      if (text === undefined) return value;
      pending = text;
      return placeholder;
    },
    wrapSend(socket) {
      const send = socket.send.bind(socket);
      socket.send = ((data: unknown, ...rest: unknown[]) => {
        if (typeof data === 'string' && data.endsWith(member)) {
          splices += 1;
          data = `${data.slice(0, -member.length)}"payload":${pending}}`;
        }
        return (send as (...args: unknown[]) => void)(data, ...rest);
      }) as WebSocket['send'];
    },
    stats: () => ({ serialisations, splices }),
  };
}
