import { parseOpenAqRecord, type RecordResult } from './openaq-record.js';

/**
 * The measurements inside one JSON document of the OpenAQ realtime files, whatever envelope it came in:
 *
 * - a realtime record (`{"location": ..., "parameter": ..., "date": {"utc": ...}, ...}`);
 * - an SNS notification (`{"Type": "Notification", "Message": ..., "MessageAttributes": ...}`)
 *   carrying the measurement as message attributes (`{"parameter": {"Type": "String",
 *   "Value": "pm25"}, ...}`) or as a JSON string in `Message`;
 * - a Lambda event (`{"Records": [...]}`) from SNS (`Records[i].Sns` is a notification) or from
 *   SQS (`Records[i].body` is the notification as a JSON string, or with raw delivery the message
 *   itself with the attributes in `Records[i].messageAttributes`);
 * - an array of any of these.
 *
 * Each measurement comes with its path inside the document (`Records[2].Sns.Message`), so that a
 * problem can be pointed at.
 */
export interface MessageItem {
  readonly path: string;
  readonly result: RecordResult;
}

/** JSON inside JSON inside JSON is what SQS-of-SNS looks like; beyond this it is a mistake. */
const MAX_DEPTH = 8;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function join(path: string, key: string): string {
  if (key.startsWith('[')) return `${path}${key}`;
  return path === '' ? key : `${path}.${key}`;
}

/**
 * Message attributes as a flat record, or undefined when they do not describe a measurement.
 * SNS writes `{name: {Type, Value}}`; SQS writes `{name: {dataType, stringValue}}`.
 */
function attributesRecord(attributes: unknown): Json | undefined {
  if (!isObject(attributes)) return undefined;
  const record: Json = {};
  for (const [name, attribute] of Object.entries(attributes)) {
    if (typeof attribute === 'string') record[name] = attribute;
    else if (isObject(attribute)) {
      record[name] = attribute.Value ?? attribute.StringValue ?? attribute.stringValue;
    }
  }
  return 'parameter' in record ? record : undefined;
}

export function measurementsOf(document: unknown): MessageItem[] {
  const items: MessageItem[] = [];
  unwrap(document, '', 0, items);
  return items;
}

function malformed(items: MessageItem[], path: string, reason: string): void {
  items.push({ path, result: { kind: 'malformed', reason } });
}

function unwrapJsonString(
  text: unknown,
  path: string,
  depth: number,
  items: MessageItem[],
  what: string,
): void {
  if (isObject(text) || Array.isArray(text)) {
    unwrap(text, path, depth + 1, items);
    return;
  }
  if (typeof text !== 'string') {
    malformed(items, path, `${what} holds no measurement (${describe(text)})`);
    return;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    malformed(items, path, `${what} is not JSON: ${(error as Error).message}`);
    return;
  }
  unwrap(parsed, path, depth + 1, items);
}

function unwrap(document: unknown, path: string, depth: number, items: MessageItem[]): void {
  if (depth > MAX_DEPTH) {
    malformed(items, path, `nested more than ${MAX_DEPTH} levels deep`);
    return;
  }
  if (Array.isArray(document)) {
    document.forEach((element, index) => {
      unwrap(element, join(path, `[${index}]`), depth + 1, items);
    });
    return;
  }
  if (!isObject(document)) {
    malformed(items, path, `expected a JSON object, got ${describe(document)}`);
    return;
  }
  if (Array.isArray(document.Records)) {
    document.Records.forEach((record, index) => {
      unwrapEventRecord(record, join(path, `Records[${index}]`), depth + 1, items);
    });
    return;
  }
  if ('Message' in document || 'MessageAttributes' in document) {
    unwrapNotification(document, path, depth, items);
    return;
  }
  if ('parameter' in document) {
    items.push({ path, result: parseOpenAqRecord(document) });
    return;
  }
  malformed(
    items,
    path,
    'neither an OpenAQ measurement, an SNS notification nor a Lambda event (no "parameter", "Message" or "Records")',
  );
}

/** Where a message keeps its attributes and its body, and what to call the body in a problem. */
interface MessageFields {
  readonly attributes: string;
  readonly body: string;
  readonly what: string;
}

const SNS_NOTIFICATION: MessageFields = {
  attributes: 'MessageAttributes',
  body: 'Message',
  what: 'SNS Message',
};
const SQS_RECORD: MessageFields = {
  attributes: 'messageAttributes',
  body: 'body',
  what: 'SQS body',
};

/**
 * The one measurement of a message: from its attributes where they describe one, else from its
 * JSON body. The attributes are what the original Lambda read; when both are present the body is
 * the same measurement again and is not counted twice.
 */
function unwrapMessage(
  message: Json,
  { attributes, body, what }: MessageFields,
  path: string,
  depth: number,
  items: MessageItem[],
) {
  const fromAttributes = attributesRecord(message[attributes]);
  if (fromAttributes) {
    items.push({ path: join(path, attributes), result: parseOpenAqRecord(fromAttributes) });
    return;
  }
  unwrapJsonString(message[body], join(path, body), depth, items, what);
}

function unwrapNotification(notification: Json, path: string, depth: number, items: MessageItem[]) {
  unwrapMessage(notification, SNS_NOTIFICATION, path, depth, items);
}

function unwrapEventRecord(record: unknown, path: string, depth: number, items: MessageItem[]) {
  if (!isObject(record)) {
    malformed(items, path, `expected an event record object, got ${describe(record)}`);
    return;
  }
  if (isObject(record.Sns)) {
    unwrapNotification(record.Sns, join(path, 'Sns'), depth + 1, items);
    return;
  }
  if ('body' in record) {
    // SQS: with raw message delivery the SNS attributes become the SQS message's attributes.
    unwrapMessage(record, SQS_RECORD, path, depth, items);
    return;
  }
  unwrap(record, path, depth, items);
}
