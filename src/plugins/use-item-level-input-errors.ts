import {
  GraphQLError,
  type GraphQLInputObjectType,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isNonNullType,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import {
  type ItemLevelInputErrorsByVariable,
  measurementsVariable,
} from '../context/item-level-input-errors.js';
import type { ItemLevelInputErrors, Rejection } from '../ingest/ingest-measurements.js';
import { quote } from '../util/quote.js';
import { mutationRootFields } from './mutation-root-fields.js';

export interface WithItemLevelInputErrors {
  itemLevelInputErrors?: ItemLevelInputErrorsByVariable;
}

/** The variables that feed ingestMeasurements(measurements: $x) in the operation, fragments included. */
function measurementVariables(
  document: Parameters<typeof mutationRootFields>[0],
  operationName: string | null | undefined,
): string[] {
  const names = new Set<string>();
  for (const field of mutationRootFields(document, operationName)) {
    if (field.name.value !== 'ingestMeasurements') continue;
    const name = measurementsVariable(field);
    if (name !== null) names.add(name);
  }
  return [...names];
}

interface FieldCheck {
  readonly name: string;
  readonly required: boolean;
  /** A quick test of what the field's type accepts; null where only parseValue can tell. */
  readonly accepts: ((value: unknown) => boolean) | null;
  readonly parseValue: ((value: unknown) => unknown) | null;
}

/** The quick tests of the built-in scalars, as graphql-js's parseValue decides. */
const BUILT_IN: Readonly<Record<string, (value: unknown) => boolean>> = {
  String: (value) => typeof value === 'string',
  Boolean: (value) => typeof value === 'boolean',
  Float: (value) => typeof value === 'number' && Number.isFinite(value),
  Int: (value) => Number.isInteger(value) && Math.abs(value as number) <= 2147483647,
  ID: (value) => typeof value === 'string' || Number.isInteger(value),
};

/**
 * DateTime parses leniently in MeasurementInput (a malformed instant is one item's rejection,
 * judged by the mutation): its parseValue never throws, so it need not run twice.
 */
const LENIENT_SCALARS = new Set(['DateTime']);

const checksOf = new WeakMap<GraphQLInputObjectType, readonly FieldCheck[]>();

/** How to check each field of the type: worked out once per schema, not once per item. */
function fieldChecks(type: GraphQLInputObjectType): readonly FieldCheck[] {
  let checks = checksOf.get(type);
  if (!checks) {
    checks = Object.values(type.getFields()).map((field) => {
      const named = getNamedType(field.type);
      const required = isNonNullType(field.type);
      if (isEnumType(named)) {
        const names = new Set(named.getValues().map((v) => v.name));
        return {
          name: field.name,
          required,
          accepts: (value: unknown) => typeof value === 'string' && names.has(value),
          parseValue: (value: unknown) => named.parseValue(value),
        };
      }
      if (!isLeafType(named) || LENIENT_SCALARS.has(named.name)) {
        return { name: field.name, required, accepts: () => true, parseValue: null };
      }
      return {
        name: field.name,
        required,
        accepts: BUILT_IN[named.name] ?? null,
        parseValue: (value: unknown) => named.parseValue(value),
      };
    });
    checksOf.set(type, checks);
  }
  return checks;
}

/** Longest GraphQL message kept whole in a reason: it quotes the value, which may be any size. */
const MAX_MESSAGE = 300;

/**
 * GraphQL's words for a refused value, with the value shortened: GraphQL quotes it in full, and a
 * 10 kB string sent as a number or a pollutant would make a 10 kB reason.
 */
function shortMessage(message: string, value: unknown): string {
  let text = message;
  if (typeof value === 'string') text = text.replace(JSON.stringify(value), quote(value));
  if (text.length > MAX_MESSAGE) text = `${text.slice(0, MAX_MESSAGE)}…`;
  // GraphQL's sentences may already end with "?" (Did you mean ...?): no period after it.
  return /[.?!]$/.test(text) ? text : `${text}.`;
}

/** The names of the type's fields, for the test of unknown ones. */
const namesOf = new WeakMap<GraphQLInputObjectType, ReadonlySet<string>>();

function fieldNames(type: GraphQLInputObjectType): ReadonlySet<string> {
  let names = namesOf.get(type);
  if (!names) {
    names = new Set(Object.keys(type.getFields()));
    namesOf.set(type, names);
  }
  return names;
}

function added(problems: string[] | null, problem: string): string[] {
  if (problems === null) return [problem];
  problems.push(problem);
  return problems;
}

/**
 * What GraphQL's own input coercion would say of one item, field by field; null when nothing
 * (the case of nearly every item, which then costs no allocation).
 */
function coercionProblems(item: unknown, type: GraphQLInputObjectType): string[] | null {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    return [`The item ${quote(item)} is not an object with measurement fields.`];
  }
  let problems: string[] | null = null;
  const names = fieldNames(type);
  const raw = item as Record<string, unknown>;
  for (const name in raw) {
    // A field name is the client's text too: quoted and shortened when it is long.
    if (!names.has(name)) {
      problems = added(
        problems,
        `${name.length > 40 ? quote(name) : name} is not a field of ${type.name}.`,
      );
    }
  }
  for (const check of fieldChecks(type)) {
    const value = raw[check.name];
    if (value === undefined || value === null) {
      if (check.required) problems = added(problems, `${check.name} is missing: it is required.`);
      continue;
    }
    if (check.accepts?.(value) || !check.parseValue) continue;
    try {
      check.parseValue(value);
    } catch (error) {
      // GraphQL's own words for what it refuses.
      const message = error instanceof GraphQLError ? error.message : String(error);
      problems = added(problems, `${check.name}: ${shortMessage(message, value)}`);
    }
  }
  return problems;
}

/**
 * GraphQL refuses a whole request when one item of a list variable does not coerce (a missing
 * city, a value sent as text, an unknown pollutant name): one bad item would sink a batch of
 * 10,000. This plugin checks the items of every variable that feeds an ingestMeasurements field
 * (at the top of the mutation or behind fragments) before execution, as GraphQL would, takes out
 * those it would refuse and leaves their reasons in the context, per variable, so that each field
 * reports them as rejections of its own items, with their indices in the batch sent. A list
 * written inline in the document is checked by GraphQL's validation as a whole, as before.
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
      const setAside = new Map<string, ItemLevelInputErrors>();
      let changed = false;
      for (const name of names) {
        let items = variables[name];
        // GraphQL coerces a single value given for a list as a list of one: a lone measurement
        // object is a batch of one, checked like any batch. (Left alone, its bad fields failed the
        // whole request, with the compiled coercion naming the wrong variable.) Null and values
        // that are not objects stay GraphQL's to refuse: they are not measurements at all.
        if (typeof items === 'object' && items !== null && !Array.isArray(items)) {
          items = [items];
          variables[name] = items;
          changed = true;
        }
        if (!Array.isArray(items)) continue;
        const kept: unknown[] = [];
        const keptIndex: number[] = [];
        const rejected: Rejection[] = [];
        for (let index = 0; index < items.length; index += 1) {
          const item: unknown = items[index];
          const problems = coercionProblems(item, type);
          if (problems === null) {
            kept.push(item);
            keptIndex.push(index);
          } else rejected.push({ index, reason: problems.join(' ') });
        }
        if (rejected.length === 0) continue;
        variables[name] = kept;
        changed = true;
        setAside.set(name, { received: items.length, keptIndex, rejected });
      }
      if (setAside.size > 0) extendContext({ itemLevelInputErrors: setAside });
      // envelop calls execute with these very args, so the filtered list is what GraphQL coerces.
      if (changed) (args as { variableValues: Record<string, unknown> }).variableValues = variables;
    },
  };
}
