import type { MeasurementItem } from '../../src/ingest/validate-measurement.js';

/** Measurements as clients send them to ingestMeasurements, and the mutation that sends them. */

/** A MeasurementInput as JSON carries it: measuredAt as ISO-8601 text. */
export type MeasurementJson = MeasurementItem & { readonly measuredAt: string };

/** A measurement of a Belgian station, in µg/m³ unless said otherwise. */
export function measurement(
  city: string,
  location: string,
  parameter: string,
  value: number,
  measuredAt: string,
  unit = 'µg/m³',
): MeasurementJson {
  return { city, location, country: 'BE', parameter, value, unit, measuredAt };
}

/** The instant `minutes` before `from` (now by default), as ISO-8601 text. */
export function minutesAgo(minutes: number, from = Date.now()): string {
  return new Date(from - minutes * 60_000).toISOString();
}

/** Every field of IngestResult. */
export const INGEST_RESULT = 'received inserted updated unchanged rejected { index reason }';

/** ingestMeasurements on the variable $m, selecting `fields` of its result (all by default). */
export function ingestMutation(fields = INGEST_RESULT): string {
  return `mutation Ingest($m: [MeasurementInput!]!) {
  ingestMeasurements(measurements: $m) { ${fields} }
}`;
}

export const INGEST = ingestMutation();
