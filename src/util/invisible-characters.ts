/**
 * Characters that change how a name reads, or hide part of it, without being seen: Unicode's
 * format characters (General_Category Cf: zero-width spaces and joiners, bidirectional marks,
 * embeddings, overrides and isolates, the soft hyphen, the byte order mark, tag characters) and
 * the line and paragraph separators (Zl, Zp). A station called "BETR\u202E108" shows as
 * "BETR801" in a right-to-left override; "Gen\u200Bt" is not "Gent" to a database or a search.
 * Combining marks (Mn, Mc) and variation selectors are not among them: scripts and emoji need them.
 */
export const INVISIBLE_CHARACTER = /[\p{Cf}\p{Zl}\p{Zp}]/u;
const EVERY_INVISIBLE = new RegExp(INVISIBLE_CHARACTER.source, 'gu');

/** What people call the ones a source is likely to send. */
const NAMES: ReadonlyMap<number, string> = new Map([
  [0x00ad, 'soft hyphen'],
  [0x061c, 'Arabic letter mark'],
  [0x180e, 'Mongolian vowel separator'],
  [0x200b, 'zero width space'],
  [0x200c, 'zero width non-joiner'],
  [0x200d, 'zero width joiner'],
  [0x200e, 'left-to-right mark'],
  [0x200f, 'right-to-left mark'],
  [0x2028, 'line separator'],
  [0x2029, 'paragraph separator'],
  [0x202a, 'left-to-right embedding'],
  [0x202b, 'right-to-left embedding'],
  [0x202c, 'pop directional formatting'],
  [0x202d, 'left-to-right override'],
  [0x202e, 'right-to-left override'],
  [0x2060, 'word joiner'],
  [0x2066, 'left-to-right isolate'],
  [0x2067, 'right-to-left isolate'],
  [0x2068, 'first strong isolate'],
  [0x2069, 'pop directional isolate'],
  [0xfeff, 'zero width no-break space (byte order mark)'],
]);

function describe(codePoint: number): string {
  const hex = `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
  // Tag characters spell ASCII invisibly: U+E0041 is a hidden "A".
  if (codePoint >= 0xe0020 && codePoint <= 0xe007e) {
    const c = String.fromCharCode(codePoint - 0xe0000);
    const what = /[A-Z]/.test(c)
      ? `latin capital letter ${c.toLowerCase()}`
      : /[a-z]/.test(c)
        ? `latin small letter ${c}`
        : `"${c}"`;
    return `${hex} tag ${what}`;
  }
  const name = NAMES.get(codePoint);
  return name ? `${hex} ${name}` : hex;
}

/** The distinct invisible characters of a text, described (at most three), or [] when none. */
export function invisibleCharacters(text: string): string[] {
  const found = new Set<number>();
  for (const match of text.matchAll(EVERY_INVISIBLE)) {
    found.add(match[0].codePointAt(0) as number);
    if (found.size === 3) break;
  }
  return [...found].map(describe);
}
