import {
  type DocumentNode,
  type FieldNode,
  getOperationAST,
  Kind,
  type SelectionSetNode,
} from 'graphql';

/** The root fields an operation selects, through its fragments (@skip/@include counted anyway). */
function rootFields(
  selectionSet: SelectionSetNode,
  document: DocumentNode,
  fields: FieldNode[],
): FieldNode[] {
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) fields.push(selection);
    else if (selection.kind === Kind.INLINE_FRAGMENT) {
      rootFields(selection.selectionSet, document, fields);
    } else {
      const fragment = document.definitions.find(
        (d) => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === selection.name.value,
      );
      // Validation has refused cycles and unknown fragments already.
      if (fragment?.kind === Kind.FRAGMENT_DEFINITION) {
        rootFields(fragment.selectionSet, document, fields);
      }
    }
  }
  return fields;
}

const NONE: readonly FieldNode[] = Object.freeze([]);
const byDocument = new WeakMap<DocumentNode, Map<string | null, readonly FieldNode[]>>();

/**
 * The root fields of the mutation an operation runs, in document order, through named and inline
 * fragments; none for a query or subscription. The one walk that the write rate limit prices and
 * the item-level input checks read their batches from, made once per document (Yoga hands the
 * same parsed document to every request with the same text).
 */
export function mutationRootFields(
  document: DocumentNode,
  operationName: string | null | undefined,
): readonly FieldNode[] {
  let byOperation = byDocument.get(document);
  if (!byOperation) {
    byOperation = new Map();
    byDocument.set(document, byOperation);
  }
  const key = operationName ?? null;
  let fields = byOperation.get(key);
  if (!fields) {
    const operation = getOperationAST(document, operationName);
    fields =
      operation?.operation === 'mutation'
        ? Object.freeze(rootFields(operation.selectionSet, document, []))
        : NONE;
    byOperation.set(key, fields);
  }
  return fields;
}
