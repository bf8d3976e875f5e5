/**
 * IRCEL-CELINE labels its stations "<code> - <place>", the place sometimes with a detail:
 * "42R803 - Antwerpen (Park Spoor Noord)", "41B006 - Bruxelles (Parlement UE)", "44R701 - Gent",
 * "41WOL1 - Wol.St.L.". The code is the station's in the Belgian networks; the place is a
 * municipality, a former municipality or a part of one, in the language of its region.
 */
export interface StationLabel {
  /** 42R803; null when the label has no code. */
  readonly code: string | null;
  /** Antwerpen: the place without its detail. */
  readonly place: string;
}

const LABEL = /^\s*([0-9A-Z]{5,8})\s+-\s+(.+?)\s*$/;

export function parseStationLabel(label: string): StationLabel {
  const match = LABEL.exec(label);
  const place = (match?.[2] ?? label).replace(/\s*\([^)]*\)\s*$/, '').trim();
  return { code: match?.[1] ?? null, place: place === '' ? label.trim() : place };
}
