/**
 * A measurement as the ingestion path takes it (DESIGN.md, MeasurementInput), with the pollutant
 * as its OpenAQ parameter code. The feed parsers and the generator produce these; the GraphQL
 * client turns the code into the schema's enum name.
 */
export const POLLUTANT_CODES = ['pm25', 'pm10', 'no2', 'o3', 'so2', 'co', 'bc'] as const;
export type PollutantCode = (typeof POLLUTANT_CODES)[number];

export interface MeasurementInput {
  location: string;
  city: string;
  country: string;
  parameter: PollutantCode;
  value: number;
  /** 'µg/m³' or 'ppm'; anything else is passed on and rejected by the API with its reason. */
  unit: string;
  measuredAt: Date | string;
  latitude?: number | null;
  longitude?: number | null;
  sourceName?: string | null;
  sourceType?: string | null;
}

export interface Rejection {
  index: number;
  reason: string;
}

export interface IngestResult {
  received: number;
  inserted: number;
  updated: number;
  unchanged: number;
  rejected: Rejection[];
}

export function isPollutantCode(value: string): value is PollutantCode {
  return (POLLUTANT_CODES as readonly string[]).includes(value);
}
