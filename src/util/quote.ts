import { INVISIBLE_CHARACTER } from './invisible-characters.js';

/**
 * JSON.stringify escapes C0 controls but prints DEL, the C1 controls (U+007F-U+009F) and the
 * invisible formatting characters (zero-width, bidirectional, U+2028...) as they are: invisible
 * in a message, and a right-to-left override would even turn the rest of the message around.
 * Escape them too (each UTF-16 unit, as JSON does), so that the reason shows what was sent.
 */
const ESCAPED = new RegExp(`[\\u007f-\\u009f]|${INVISIBLE_CHARACTER.source}`, 'gu');

function escapeControls(json: string): string {
  return json.replace(ESCAPED, (c) =>
    [...Array(c.length).keys()]
      .map((i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`)
      .join(''),
  );
}

/** A value quoted for a message: short enough to read, exact enough to find. */
export function quote(value: unknown): string {
  if (typeof value === 'string') {
    const length = [...value].length;
    return length > 40
      ? `${escapeControls(JSON.stringify([...value].slice(0, 40).join('')))}… (${length} characters)`
      : escapeControls(JSON.stringify(value));
  }
  if (value instanceof Date)
    return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (typeof value === 'number') return String(value);
  if (value === undefined) return 'undefined';
  try {
    const json = escapeControls(JSON.stringify(value));
    return json.length > 60 ? `${json.slice(0, 60)}…` : json;
  } catch {
    return String(value);
  }
}
