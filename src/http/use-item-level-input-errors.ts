import {
  type DocumentNode,
  GraphQLError,
  type GraphQLInputObjectType,
  getNamedType,
  isInputObjectType,
  isLeafType,
  isNonNullType,
  Kind,
  type OperationDefinitionNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Rejection } from '../ingest/ingest-measurements.js';

/**
 * Items of an ingestMeasurements batch that GraphQL itself would refuse, set aside before
 * execution: what the mutation then reports as rejections of those items.
 */
export interface ItemLevelInputErrors {
  /** Items the client sent. */
  readonly received: number;
  /** For each item left in the variable, its index in what the client sent. */
  readonly keptIndex: readonly number[];
  readonly rejected: readonly Rejection[];
}

export interface WithItemLevelInputErrors {
  itemLevelInputErrors?: ItemLevelInputErrors;
}

/** The variables that feed ingestMeasurements(measurements: $x) in the operation, by document. */
const variablesOf = new WeakMap<DocumentNode, Map<string | null, readonly string[]>>();

function measurementVariables(document: DocumentNode, operationName: string | null | undefined) {
  let byOperation = variablesOf.get(document);
  if (!byOperation) {
    byOperation = new Map();
    variablesOf.set(document, byOperation);
  }
  const key = operationName ?? null;
  let names = byOperation.get(key);
  if (!names) {
    const operations = document.definitions.filter(
      (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
    );
    const operation =
      key === null
        ? operations.length === 1
          ? operations[0]
          : undefined
        : operations.find((o) => o.name?.value === key);
    const found = new Set<string>();
    if (operation?.operation === 'mutation') {
      for (const selection of operation.selectionSet.selections) {
        if (selection.kind !== Kind.FIELD || selection.name.value !== 'ingestMeasurements')
          continue;
        for (const argument of selection.arguments ?? []) {
          if (argument.name.value === 'measurements' && argument.value.kind === Kind.VARIABLE) {
            found.add(argument.value.name.value);
          }
        }
      }
    }
    names = [...found];
    byOperation.set(key, names);
  }
  return names;
}

/** What GraphQL's own input coercion would say of one item, field by field. */
function coercionProblems(item: unknown, type: GraphQLInputObjectType): string[] {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    return [`The item ${JSON.stringify(item)} is not an object with measurement fields.`];
  }
  const problems: string[] = [];
  const fields = type.getFields();
  const raw = item as Record<string, unknown>;
  for (const name of Object.keys(raw)) {
    if (!(name in fields)) problems.push(`${name} is not a field of ${type.name}.`);
  }
  for (const field of Object.values(fields)) {
    const value = raw[field.name];
    if (value === undefined || value === null) {
      if (isNonNullType(field.type)) problems.push(`${field.name} is missing: it is required.`);
      continue;
    }
    const named = getNamedType(field.type);
    if (!isLeafType(named)) continue;
    try {
      named.parseValue(value);
    } catch (error) {
      const message = error instanceof GraphQLError ? error.message : String(error);
      problems.push(`${field.name}: ${message.replace(/\.?$/, '.')}`);
    }
  }
  return problems;
}

/**
 * GraphQL refuses a whole request when one item of a list variable does not coerce (a missing
 * city, a value sent as text, an unknown pollutant name): one bad item would sink a batch of
 * 10,000. This plugin checks the items of ingestMeasurements' variable before execution, as GraphQL
 * would, takes out those it would refuse and leaves their reasons in the context, so that the
 * mutation reports them as rejections of those items, with their indices in the batch sent.
 * Works for HTTP and WebSocket operations alike (both run through Yoga's envelop).
 */
export function useItemLevelInputErrors(): Plugin<WithItemLevelInputErrors> {
  return {
    onExecute({ args, extendContext }) {
      const names = measurementVariables(args.document, args.operationName);
      if (names.length === 0 || !args.variableValues) return;
      const type = args.schema.getType('MeasurementInput');
      if (!isInputObjectType(type)) return;
      const variables = { ...args.variableValues } as Record<string, unknown>;
      let changed = false;
      for (const name of names) {
        const items = variables[name];
        if (!Array.isArray(items)) continue;
        const kept: unknown[] = [];
        const keptIndex: number[] = [];
        const rejected: Rejection[] = [];
        items.forEach((item, index) => {
          const problems = coercionProblems(item, type);
          if (problems.length === 0) {
            kept.push(item);
            keptIndex.push(index);
          } else rejected.push({ index, reason: problems.join(' ') });
        });
        if (rejected.length === 0) continue;
        variables[name] = kept;
        changed = true;
        extendContext({ itemLevelInputErrors: { received: items.length, keptIndex, rejected } });
      }
      // envelop calls execute with these very args, so the filtered list is what GraphQL coerces.
      if (changed) (args as { variableValues: Record<string, unknown> }).variableValues = variables;
    },
  };
}
