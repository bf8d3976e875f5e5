import { builder } from './builder.js';
import type { DateTimeInput } from './date-time-input.js';
import { Pollutant } from './enums.js';

export interface MeasurementInputShape {
  location: string;
  city: string;
  country: string;
  parameter: typeof Pollutant.$inferType;
  value: number;
  unit: string;
  measuredAt: DateTimeInput;
  latitude?: number | null;
  longitude?: number | null;
  sourceName?: string | null;
  sourceType?: string | null;
  stationCode?: string | null;
  licence?: string | null;
  attribution?: string | null;
}

export const MeasurementInput = builder
  .inputRef<MeasurementInputShape>('MeasurementInput')
  .implement({
    description:
      'One measurement, in the fields of the OpenAQ realtime format. Every item is checked on its own; see IngestResult.rejected.',
    fields: (t) => ({
      location: t.string({ required: true, description: 'Station name, at most 128 characters.' }),
      city: t.string({
        required: true,
        description:
          "City as the source names it (any of a city's names, or an alias), at most 128 characters.",
      }),
      country: t.string({ required: true, description: 'ISO 3166-1 alpha-2, such as BE.' }),
      parameter: t.field({ type: Pollutant, required: true }),
      value: t.float({
        required: true,
        description:
          "0 or more, at most the pollutant's plausibility ceiling (pollutant.plausible_max).",
      }),
      unit: t.string({
        required: true,
        description: '"µg/m³" (also ug/m3), or "ppm" for NO2, O3, SO2 and CO.',
      }),
      measuredAt: t.field({
        type: 'DateTime',
        required: true,
        description:
          'OpenAQ date.utc. At most 10 minutes ahead of the server; never too old. A malformed value rejects this item only.',
      }),
      latitude: t.float({ description: '-90 to 90.' }),
      longitude: t.float({ description: '-180 to 180.' }),
      sourceName: t.string({ description: 'At most 128 characters.' }),
      sourceType: t.string({ description: 'At most 64 characters.' }),
      stationCode: t.string({
        description:
          "The station's code in the Belgian (42R803) or European (BETR803) network, at most 16 characters: a station the station table knows is stored under its municipality, whatever city says.",
      }),
      licence: t.string({
        description:
          'The licence of the data, as the upstream names it (CC BY 4.0); at most 128 characters.',
      }),
      attribution: t.string({
        description: 'Whom the licence asks to credit, with a link; at most 255 characters.',
      }),
    }),
  });
