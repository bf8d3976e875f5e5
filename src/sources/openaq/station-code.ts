/**
 * The Belgian station code in an OpenAQ location's name, if it has one: the European code the
 * EEA and OpenAQ name Belgian stations by (BETR801, BELAB01, BETBX03) or the national one
 * (42R801, 40AB01, 41WOL1). With it, belair's station table places the station in its
 * municipality whatever the locality says, or when it says nothing.
 */
const EUROPEAN = /^BE[A-Z][A-Z0-9]{4}$/;
const NATIONAL = /^(?:4\d[A-Z0-9]{4}|RMBX\d{2}|T2H\d{3})$/;

export function stationCodeIn(name: string | null): string | null {
  for (const token of (name ?? '').toUpperCase().split(/[^A-Z0-9]+/)) {
    if (EUROPEAN.test(token) || NATIONAL.test(token)) return token;
  }
  return null;
}
