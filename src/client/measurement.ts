import type { MeasurementItem } from '../ingest/validate-measurement.js';

/**
 * A measurement as the feed parsers and the generator produce it: the ingestion module's
 * MeasurementItem (the contract's MeasurementInput) with the pollutant narrowed to the codes the
 * schema knows, because an unknown enum value in a GraphQL variable fails the whole request. The
 * GraphQL client turns the code into the schema's enum name.
 */
export const POLLUTANT_CODES = ['pm25', 'pm10', 'no2', 'o3', 'so2', 'co', 'bc'] as const;
export type PollutantCode = (typeof POLLUTANT_CODES)[number];

export interface MeasurementInput extends MeasurementItem {
  readonly parameter: PollutantCode;
}

export function isPollutantCode(value: string): value is PollutantCode {
  return (POLLUTANT_CODES as readonly string[]).includes(value);
}
