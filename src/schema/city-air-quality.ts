import { selectWindows } from '../air-quality/run-windows.js';
import { cityNamesArgument, countryArgument } from './arguments.js';
import { builder } from './builder.js';
import { EaqiLevel, Pollutant } from './enums.js';
import { AirQualityRunRef, CityAirQualityRef, CityRef, PollutantWindowRef } from './refs.js';
import { checkSubscriptionComplexity } from './subscription-complexity.js';

/** airQuality(cities) takes at most this many names. */
export const MAX_CITY_NAMES = 1000;

builder.objectType(PollutantWindowRef, {
  description: "One pollutant of a city's 3-hour window, in µg/m³.",
  fields: (t) => ({
    parameter: t.field({
      type: Pollutant,
      resolve: (w) => w.parameter as typeof Pollutant.$inferType,
    }),
    unit: t.exposeString('unit'),
    average: t.exposeFloat('average'),
    min: t.exposeFloat('min'),
    max: t.exposeFloat('max'),
    count: t.exposeInt('count', { description: 'Measurements in the window.' }),
    locations: t.exposeInt('locations', { description: 'Stations that measured it.' }),
    latestMeasuredAt: t.expose('latestMeasuredAt', { type: 'DateTime' }),
    belaqi: t.exposeInt('belaqi', {
      nullable: true,
      description: 'BelAQI sub-index 1-10 of the average; null where BelAQI has no table.',
    }),
    eaqi: t.field({
      type: EaqiLevel,
      nullable: true,
      description: 'EAQI level of the average; null where EAQI has no band.',
      resolve: (w) => w.eaqi as typeof EaqiLevel.$inferType | null,
    }),
  }),
});

builder.objectType(CityAirQualityRef, {
  description: "A city's window from one run.",
  fields: (t) => ({
    city: t.field({
      type: CityRef,
      resolve: async (window, _args, context) => {
        const city = window.city ?? (await context.loaders.city.load(window.cityId));
        if (!city) throw new Error(`window of run ${window.run.id} has no city ${window.cityId}`);
        return city;
      },
    }),
    run: t.field({ type: AirQualityRunRef, resolve: (window) => window.run }),
    windowStart: t.field({ type: 'DateTime', resolve: (window) => window.run.windowStart }),
    windowEnd: t.field({ type: 'DateTime', resolve: (window) => window.run.windowEnd }),
    belaqi: t.exposeInt('belaqi', {
      nullable: true,
      description: 'Overall BelAQI: the highest sub-index of its pollutants.',
    }),
    eaqi: t.field({
      type: EaqiLevel,
      nullable: true,
      description: 'Overall EAQI: the worst level of its pollutants.',
      resolve: (window) => window.eaqi as typeof EaqiLevel.$inferType | null,
    }),
    pollutants: t.field({
      type: [PollutantWindowRef],
      description: 'By pollutant code.',
      resolve: (window) => window.pollutants,
    }),
  }),
});

builder.queryField('airQuality', (t) =>
  t.field({
    type: [CityAirQualityRef],
    description:
      "The current window of each city that has rows in the current run, by country and name; filtered by city names (any of a city's names, as Query.city takes them) and country.",
    args: {
      cities: t.arg.stringList(),
      country: t.arg.string(),
    },
    resolve: async (_root, args, context) => {
      const country = countryArgument(args.country);
      const names = cityNamesArgument('cities', args.cities, MAX_CITY_NAMES);
      return context.loaders.currentWindows({
        cityNames: names && (await context.loaders.cityNames(names, country)),
        country,
      });
    },
  }),
);

builder.subscriptionField('airQuality', (t) =>
  t.field({
    type: CityAirQualityRef,
    description:
      'The current window of each requested city at once, then each new one as soon as MariaDB has computed it (by the 5-minute event, refreshAirQuality or any CALL). ' +
      'Filtered like Query.airQuality; a city with no measurement in a run gets nothing for that run. A slow client receives the latest window of each city, not every one it missed.',
    args: {
      cities: t.arg.stringList(),
      country: t.arg.string(),
    },
    subscribe: async (_root, args, context, info) => {
      checkSubscriptionComplexity(context, info);
      const country = countryArgument(args.country);
      const names = cityNamesArgument('cities', args.cities, MAX_CITY_NAMES);
      const select = selectWindows({
        cityNames: names && (await context.loaders.cityNames(names, country)),
        country,
      });
      return context.poller.stream(select, (window) => window.cityId);
    },
    resolve: (window) => window,
  }),
);
