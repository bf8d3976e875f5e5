import { builder } from './builder.js';
import { Pollutant } from './enums.js';
import { LatestMeasurementRef } from './refs.js';

builder.objectType(LatestMeasurementRef, {
  description: "A station's latest measurement of one pollutant.",
  fields: (t) => ({
    parameter: t.field({
      type: Pollutant,
      resolve: (m) => m.parameter as typeof Pollutant.$inferType,
    }),
    value: t.exposeFloat('value', { description: 'In µg/m³ (ppm converted at 25 °C).' }),
    unit: t.exposeString('unit', { description: 'The unit the source sent it in.' }),
    measuredAt: t.expose('measuredAt', { type: 'DateTime' }),
  }),
});
