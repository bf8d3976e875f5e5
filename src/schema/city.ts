import { listCities } from '../db/cities.js';
import { badUserInput } from '../errors/expected-errors.js';
import { cityNameArgument, countryArgument } from './arguments.js';
import { builder } from './builder.js';
import { requireInstant } from './date-time-input.js';
import { CityAirQualityRef, CityNamesRef, CityRef, LocationRef } from './refs.js';

/** The longest range City.history answers, in days. */
export const MAX_HISTORY_DAYS = 31;

/**
 * The most history one operation may read, in city-days: one city's longest range. Without it,
 * `{ cities { history(<31 days>) { ... } } }` would pass every other limit (the cost model prices
 * a list at 10 items) and read every run of a month for every city: ~9,000 windows per city.
 */
export const MAX_HISTORY_CITY_DAYS = MAX_HISTORY_DAYS;

builder.objectType(CityNamesRef, {
  description: "A city's names in the national languages of Belgium and in English.",
  fields: (t) => ({
    nl: t.exposeString('nl', { description: 'Dutch: Antwerpen, Luik, Bergen.' }),
    fr: t.exposeString('fr', { description: 'French: Anvers, Liège, Mons.' }),
    de: t.exposeString('de', { description: 'German: Antwerpen, Lüttich, Mons.' }),
    en: t.exposeString('en', { description: 'English: Antwerp, Liège, Mons.' }),
  }),
});

builder.objectType(CityRef, {
  description:
    'A city: a municipality (the 19 communes of the Brussels-Capital Region are the one city Brussels), or what an older feed named a city (often a province or region).',
  fields: (t) => ({
    name: t.exposeString('name', {
      description:
        'The name it is stored under: its official name (Brussels for Brussels). Every argument that takes a city name also accepts its other names.',
    }),
    country: t.exposeString('country', { description: 'ISO 3166-1 alpha-2.' }),
    latitude: t.exposeFloat('latitude', {
      nullable: true,
      description: 'The mean latitude of its stations.',
    }),
    longitude: t.exposeFloat('longitude', {
      nullable: true,
      description: 'The mean longitude of its stations.',
    }),
    locations: t.field({
      type: [LocationRef],
      resolve: (city, _args, context) => context.loaders.locations.load(city.id),
    }),
    airQuality: t.field({
      type: CityAirQualityRef,
      nullable: true,
      description: 'The window of the current run; null when the city has no measurement in it.',
      resolve: (city, _args, context) => context.loaders.currentWindow.load(city.id),
    }),
    history: t.field({
      type: [CityAirQualityRef],
      description: `The city's windows from the runs with from ≤ evaluatedAt ≤ to, oldest first. The range spans at most ${MAX_HISTORY_DAYS} days.`,
      args: {
        from: t.arg({ type: 'DateTime', required: true }),
        to: t.arg({ type: 'DateTime', required: true }),
      },
      resolve: (city, args, context) => {
        const from = requireInstant('from', args.from);
        const to = requireInstant('to', args.to);
        if (from > to) {
          throw badUserInput(`from ${from.toISOString()} is after to ${to.toISOString()}.`);
        }
        if (to.getTime() - from.getTime() > MAX_HISTORY_DAYS * 86_400_000) {
          throw badUserInput(
            `The range from ${from.toISOString()} to ${to.toISOString()} spans more than ${MAX_HISTORY_DAYS} days: ask for it in parts.`,
          );
        }
        const days = (to.getTime() - from.getTime()) / 86_400_000;
        if (context.historyCityDays + days > MAX_HISTORY_CITY_DAYS) {
          throw badUserInput(
            `This operation asks for more than ${MAX_HISTORY_CITY_DAYS} days of history in all (city by city, ${Math.round((context.historyCityDays + days) * 10) / 10} days by ${city.name}): ask for fewer cities or shorter ranges, or split it.`,
          );
        }
        context.historyCityDays += days;
        return context.loaders.history(from, to).load(city.id);
      },
    }),
    names: t.field({
      type: CityNamesRef,
      description:
        'Its names in Dutch, French, German and English; all four are its name where belair has no names for it.',
      resolve: (city, _args, context) => context.loaders.cityNamesOf(city),
    }),
  }),
});

builder.queryFields((t) => ({
  cities: t.field({
    type: [CityRef],
    description: 'Every city that has sent a measurement, by country and name.',
    args: { country: t.arg.string() },
    resolve: async (_root, args, context) => {
      const cities = await listCities(context.reads, { country: countryArgument(args.country) });
      for (const city of cities) context.loaders.city.prime(city.id, city);
      return cities;
    },
  }),
  city: t.field({
    type: CityRef,
    nullable: true,
    description:
      'One city by any of its names: official, Dutch, French, German or English (Anvers, Antwerp and Antwerpen are one city), or that of a former municipality or Brussels commune it includes.',
    args: {
      name: t.arg.string({ required: true }),
      country: t.arg.string({ defaultValue: 'BE' }),
    },
    resolve: (_root, args, context) =>
      context.loaders.cityByName(
        cityNameArgument('name', args.name),
        countryArgument(args.country) ?? 'BE',
      ),
  }),
}));
