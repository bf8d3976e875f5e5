import { builder } from './builder.js';
import { CityRef, LatestMeasurementRef, LocationRef } from './refs.js';

builder.objectType(LocationRef, {
  description: 'A measuring station, identified by (country, city, name).',
  fields: (t) => ({
    name: t.exposeString('name'),
    city: t.field({
      type: CityRef,
      resolve: async (location, _args, context) => {
        const city = await context.loaders.city.load(location.cityId);
        if (!city) throw new Error(`location ${location.id} has no city ${location.cityId}`);
        return city;
      },
    }),
    latitude: t.exposeFloat('latitude', { nullable: true }),
    longitude: t.exposeFloat('longitude', { nullable: true }),
    sourceName: t.exposeString('sourceName', { nullable: true }),
    sourceType: t.exposeString('sourceType', { nullable: true }),
    latest: t.field({
      type: [LatestMeasurementRef],
      description:
        'The latest measurement of each pollutant the station has measured, by pollutant code.',
      // At most one per pollutant: priced as a list of 7, not the default 10.
      complexity: { field: 1, multiplier: 7 },
      resolve: (location, _args, context) => context.loaders.latest.load(location.id),
    }),
    licence: t.exposeString('licence', {
      nullable: true,
      description:
        "The licence of its data, as the upstream names it: CC BY 4.0 for IRCEL-CELINE, the provider's licence for OpenAQ. Null where the measurements came without one.",
    }),
    attribution: t.exposeString('attribution', {
      nullable: true,
      description: 'Whom the licence asks to credit when the data is shown or passed on.',
    }),
  }),
});
