import type { ExecutionResult, FormattedExecutionResult, GraphQLError } from 'graphql';
import * as ws from 'ws';

/**
 * The WebSocket frames of graphql-ws `next` messages, made once per (result, id) and written as
 * they are to every socket that gets them.
 *
 * Shared execution (src/plugins/use-shared-execution.ts) hands every subscriber of an operation
 * the same ExecutionResult object for an event. Its payload is serialised once (JSON text, then
 * UTF-8 bytes); a message is the bytes `{"id":<id>,"type":"next","payload":` + those bytes + `}`,
 * and its frame what ws's own Sender.frame makes of it (unmasked, as a server sends, one text
 * frame). The last frame made for a result is kept with its id: subscribers of one operation whose
 * clients chose the same id (the first subscription of many clients) share the frame itself; the
 * others each get theirs, made from the shared payload bytes without serialising anything again.
 *
 * The messages are byte for byte what graphql-ws writes (`stringifyMessage` of
 * `{id, type: 'next', payload}`): the payload is the result with its errors as JSON, last, and
 * without what Yoga keeps to itself and omits from HTTP and SSE bodies likewise: extensions.http
 * (the status and headers an error asks of an HTTP response) and extensions.unexpected (the mark
 * of a masked error).
 */
export class NextFrames {
  readonly #payloads = new WeakMap<ExecutionResult, Payload>();
  #serialisations = 0;
  #frames = 0;

  /** The frame of the `next` message with this result for the operation id. */
  frame(result: ExecutionResult, id: string): Buffer {
    let payload = this.#payloads.get(result);
    if (payload === undefined) {
      payload = {
        bytes: Buffer.from(JSON.stringify(graphqlWsPayload(result))),
        id: null,
        frame: null,
      };
      this.#payloads.set(result, payload);
      this.#serialisations += 1;
    }
    if (payload.id === id && payload.frame) return payload.frame;
    const head = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
    const headLength = Buffer.byteLength(head);
    const message = Buffer.allocUnsafe(headLength + payload.bytes.length + 1);
    message.write(head, 0, 'utf8');
    payload.bytes.copy(message, headLength);
    message[message.length - 1] = 0x7d; // }
    payload.frame = Buffer.concat(Sender.frame(message, TEXT_FRAME));
    payload.id = id;
    this.#frames += 1;
    return payload.frame;
  }

  /** Payloads serialised (once per result), and frames made (once per result and id in a row). */
  stats(): { serialisations: number; frames: number } {
    return { serialisations: this.#serialisations, frames: this.#frames };
  }
}

interface Payload {
  readonly bytes: Buffer;
  /** The id of the last frame made, and the frame. */
  id: string | null;
  frame: Buffer | null;
}

/** ws's own framing (lib/sender.js, exported as Sender; @types/ws does not declare it). */
const { Sender } = ws as unknown as {
  readonly Sender: {
    frame(
      data: Buffer,
      options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean },
    ): Buffer[];
  };
};

/** One unmasked, final text frame: what ws's Sender makes of a server's send(). */
const TEXT_FRAME = { fin: true, opcode: 0x01, mask: false, readOnly: false, rsv1: false };

/** The frame of a message that never changes (the acknowledgement), made once. */
export function constantFrame(text: string): Buffer {
  return Buffer.concat(Sender.frame(Buffer.from(text), TEXT_FRAME));
}

/** The payload graphql-ws sends for a result: its errors as JSON, last. */
export function graphqlWsPayload(result: ExecutionResult): FormattedExecutionResult {
  const { errors, ...withoutErrors } = result;
  return errors ? { ...withoutErrors, errors: errors.map(formatError) } : withoutErrors;
}

/**
 * An error as a WebSocket client should see it: as JSON, without Yoga's internals (extensions.http
 * and extensions.unexpected, which Yoga omits from HTTP and SSE bodies).
 */
export function formatError(error: GraphQLError): ReturnType<GraphQLError['toJSON']> {
  const formatted = error.toJSON();
  const internals = formatted.extensions;
  if (internals?.http === undefined && internals?.unexpected === undefined) return formatted;
  const { http: _http, unexpected: _unexpected, ...extensions } = internals;
  return { ...formatted, extensions: Object.keys(extensions).length > 0 ? extensions : undefined };
}
