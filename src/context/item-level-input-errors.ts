import { type FieldNode, Kind } from 'graphql';
import type { ItemLevelInputErrors } from '../ingest/ingest-measurements.js';

/**
 * Items GraphQL itself would refuse, set aside before execution, kept per variable: the variable
 * that feeds an ingestMeasurements(measurements: $x) field. Two aliased batches over two variables
 * thus report their own items; two fields over one variable both report that variable's.
 */
export type ItemLevelInputErrorsByVariable = ReadonlyMap<string, ItemLevelInputErrors>;

/** The variable an ingestMeasurements field takes its measurements from, or null (inline list). */
export function measurementsVariable(field: FieldNode | undefined): string | null {
  const argument = field?.arguments?.find((a) => a.name.value === 'measurements');
  return argument?.value.kind === Kind.VARIABLE ? argument.value.name.value : null;
}
