import type { RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { postOperation, useApp } from './helpers/app.js';
import { useTestDatabase } from './helpers/database.js';

/**
 * Items GraphQL itself would refuse (a value sent as text, a missing field) are set aside before
 * execution and reported by the ingestMeasurements field whose variable held them: per field,
 * never one set per request, and through fragments as well as at the top of the operation.
 */

const t = useTestDatabase(import.meta.filename);
const api = useApp(t);

const RESULT = 'received inserted updated unchanged rejected { index reason }';
const TEXT_VALUE = 'value: Float cannot represent non numeric value: "x".';
const NO_CITY = 'city is missing: it is required.';

let slot = 0;
/** A good item of its own station and instant. */
function good(location: string) {
  slot += 1;
  return {
    location,
    city: 'Veldstad',
    country: 'BE',
    parameter: 'PM10',
    value: slot,
    unit: 'µg/m³',
    measuredAt: new Date(Date.UTC(2026, 0, 10) + slot * 60_000).toISOString(),
  };
}
const textValue = (location: string) => ({ ...good(location), value: 'x' });
const noCity = (location: string) => {
  const { city: _city, ...rest } = good(location);
  return rest;
};

const post = (query: string, variables: Record<string, unknown>) =>
  postOperation(api.url, query, variables);

async function storedAt(location: string): Promise<number> {
  const [[row]] = await t.pool.query<RowDataPacket[]>(
    'SELECT COUNT(*) AS n FROM measurement m JOIN location l ON l.id = m.location_id WHERE l.name = ?',
    [location],
  );
  return Number(row?.n);
}

describe('item-level input errors, per ingestMeasurements field', () => {
  it('keeps two aliased batches over two variables apart: each reports its own items', async () => {
    const answer = await post(
      `mutation ($a: [MeasurementInput!]!, $b: [MeasurementInput!]!) {
        a: ingestMeasurements(measurements: $a) { ${RESULT} }
        b: ingestMeasurements(measurements: $b) { ${RESULT} }
      }`,
      { a: [good('A1'), good('A1'), good('A1')], b: [textValue('B1')] },
    );
    expect(answer).toEqual({
      status: 200,
      json: {
        data: {
          a: { received: 3, inserted: 3, updated: 0, unchanged: 0, rejected: [] },
          b: {
            received: 1,
            inserted: 0,
            updated: 0,
            unchanged: 0,
            rejected: [{ index: 0, reason: TEXT_VALUE }],
          },
        },
      },
    });
    expect([await storedAt('A1'), await storedAt('B1')]).toEqual([3, 0]);
  });

  it('gives each batch the indices of its own variable when both hold bad items', async () => {
    const answer = await post(
      `mutation ($a: [MeasurementInput!]!, $b: [MeasurementInput!]!) {
        b: ingestMeasurements(measurements: $b) { ${RESULT} }
        a: ingestMeasurements(measurements: $a) { ${RESULT} }
      }`,
      {
        a: [good('A2'), textValue('A2'), good('A2'), noCity('A2')],
        b: [noCity('B2'), good('B2'), textValue('B2')],
      },
    );
    expect(answer.json).toEqual({
      data: {
        b: {
          received: 3,
          inserted: 1,
          updated: 0,
          unchanged: 0,
          rejected: [
            { index: 0, reason: NO_CITY },
            { index: 2, reason: TEXT_VALUE },
          ],
        },
        a: {
          received: 4,
          inserted: 2,
          updated: 0,
          unchanged: 0,
          rejected: [
            { index: 1, reason: TEXT_VALUE },
            { index: 3, reason: NO_CITY },
          ],
        },
      },
    });
    expect([await storedAt('A2'), await storedAt('B2')]).toEqual([2, 1]);
  });

  it('lets two fields over one variable both report that variable’s items', async () => {
    const items = [good('C1'), textValue('C1')];
    const answer = await post(
      `mutation ($m: [MeasurementInput!]!) {
        first: ingestMeasurements(measurements: $m) { ${RESULT} }
        again: ingestMeasurements(measurements: $m) { ${RESULT} }
      }`,
      { m: items },
    );
    const rejected = [{ index: 1, reason: TEXT_VALUE }];
    expect(answer.json).toEqual({
      data: {
        first: { received: 2, inserted: 1, updated: 0, unchanged: 0, rejected },
        again: { received: 2, inserted: 0, updated: 0, unchanged: 1, rejected },
      },
    });
  });

  it('checks a batch behind a named fragment item by item instead of refusing the request', async () => {
    const answer = await post(
      `mutation ($m: [MeasurementInput!]!) { ...Batch }
       fragment Batch on Mutation { ingestMeasurements(measurements: $m) { ${RESULT} } }`,
      { m: [good('D1'), textValue('D1'), good('D1')] },
    );
    expect(answer).toEqual({
      status: 200,
      json: {
        data: {
          ingestMeasurements: {
            received: 3,
            inserted: 2,
            updated: 0,
            unchanged: 0,
            rejected: [{ index: 1, reason: TEXT_VALUE }],
          },
        },
      },
    });
    expect(await storedAt('D1')).toBe(2);
  });

  it('checks batches behind nested inline fragments, each with its own variable', async () => {
    const answer = await post(
      `mutation ($a: [MeasurementInput!]!, $b: [MeasurementInput!]!) {
        ... on Mutation {
          a: ingestMeasurements(measurements: $a) { ${RESULT} }
          ... Other
        }
      }
      fragment Other on Mutation { ... { b: ingestMeasurements(measurements: $b) { ${RESULT} } } }`,
      { a: [noCity('E1'), good('E1')], b: [good('E2'), good('E2'), textValue('E2')] },
    );
    expect(answer.json).toEqual({
      data: {
        a: {
          received: 2,
          inserted: 1,
          updated: 0,
          unchanged: 0,
          rejected: [{ index: 0, reason: NO_CITY }],
        },
        b: {
          received: 3,
          inserted: 2,
          updated: 0,
          unchanged: 0,
          rejected: [{ index: 2, reason: TEXT_VALUE }],
        },
      },
    });
  });
});
