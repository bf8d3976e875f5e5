import { builder } from './builder.js';
import { CityRef, LocationRef } from './refs.js';

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
