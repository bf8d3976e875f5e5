/**
 * JSON.stringify escapes C0 controls but prints DEL and the C1 controls (U+007F-U+009F) as they
 * are: invisible in a message. Escape them too, so that the reason shows what was sent.
 */
function escapeControls(json: string): string {
  return json.replace(
    /[\u007f-\u009f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
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
