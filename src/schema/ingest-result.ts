import { resetLoaders } from '../context/context.js';
import { measurementsVariable } from '../context/item-level-input-errors.js';
import { badUserInput } from '../errors/expected-errors.js';
import {
  BatchTooLargeError,
  type IngestResult,
  ingestMeasurements,
  type Rejection,
} from '../ingest/ingest-measurements.js';
import { builder } from './builder.js';
import { MeasurementInput } from './measurement-input.js';

const RejectionRef = builder.objectRef<Rejection>('Rejection');
const IngestResultRef = builder.objectRef<IngestResult>('IngestResult');

builder.objectType(RejectionRef, {
  description: 'An item that was not stored, and why.',
  fields: (t) => ({
    index: t.exposeInt('index', { description: 'Position in the batch, from 0.' }),
    reason: t.exposeString('reason'),
  }),
});

builder.objectType(IngestResultRef, {
  description:
    'What a batch did: received = inserted + updated + unchanged + rejected items (a repeated item counts as unchanged).',
  fields: (t) => ({
    received: t.exposeInt('received'),
    inserted: t.exposeInt('inserted'),
    updated: t.exposeInt('updated', { description: 'Known measurements whose value changed.' }),
    unchanged: t.exposeInt('unchanged', {
      description: 'Known measurements sent again as they are.',
    }),
    rejected: t.field({ type: [RejectionRef], resolve: (result) => result.rejected }),
  }),
});

builder.mutationField('ingestMeasurements', (t) =>
  t.field({
    type: IngestResultRef,
    description:
      'Stores a batch of measurements (at most INGEST_MAX_BATCH, 10,000 by default). Invalid items are rejected one by one; the valid ones are stored together, atomically. Idempotent: a measurement is identified by its station, pollutant and measuredAt. Needs a token.',
    authScopes: { write: true },
    args: {
      measurements: t.arg({ type: [MeasurementInput], required: true }),
    },
    // The cost of a batch is in its size, bounded by INGEST_MAX_BATCH, not in its selection.
    complexity: { field: 1, multiplier: 1 },
    resolve: async (_root, args, context, info) => {
      // Only an item whose measuredAt did not parse needs a copy, with the text as sent.
      const items = args.measurements.map((m) =>
        m.measuredAt instanceof Date
          ? (m as typeof m & { measuredAt: Date })
          : { ...m, measuredAt: m.measuredAt.raw },
      );
      // Items GraphQL itself would have refused were set aside before execution, per variable
      // (use-item-level-input-errors.ts): they count as received, and as rejected at their index.
      const variable = measurementsVariable(info.fieldNodes[0]);
      const setAside = variable === null ? undefined : context.itemLevelInputErrors?.get(variable);
      const maxBatch = context.config.ingestMaxBatch;
      try {
        const result = await ingestMeasurements(context.pool, items, {
          maxBatch,
          received: setAside?.received,
        });
        resetLoaders(context);
        if (!setAside) return result;
        return {
          ...result,
          received: setAside.received,
          rejected: [
            ...setAside.rejected,
            ...result.rejected.map((r) => ({
              ...r,
              index: setAside.keptIndex[r.index] ?? r.index,
            })),
          ].sort((a, b) => a.index - b.index),
        };
      } catch (error) {
        if (error instanceof BatchTooLargeError) throw badUserInput(error.message);
        throw error;
      }
    },
  }),
);
