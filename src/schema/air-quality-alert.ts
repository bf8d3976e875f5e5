import { BELAQI_MAX, BELAQI_MIN, selectAlerts } from '../air-quality/alerts.js';
import { badUserInput } from '../errors/expected-errors.js';
import { cityNamesArgument, countryArgument } from './arguments.js';
import { builder } from './builder.js';
import { MAX_CITY_NAMES } from './city-air-quality.js';
import { AirQualityAlertRef, AirQualityRunRef, CityRef } from './refs.js';
import { checkSubscriptionComplexity } from './subscription-complexity.js';

builder.objectType(AirQualityAlertRef, {
  description:
    "A city's BelAQI on one side of a subscription's threshold: it reached atLeast from below (rising), or fell back below it.",
  fields: (t) => ({
    city: t.field({
      type: CityRef,
      resolve: async (alert, _args, context) => {
        const { window } = alert;
        const city = window.city ?? (await context.loaders.city.load(window.cityId));
        if (!city) throw new Error(`alert of run ${alert.run.id} has no city ${window.cityId}`);
        return city;
      },
    }),
    run: t.field({ type: AirQualityRunRef, resolve: (alert) => alert.run }),
    previous: t.exposeInt('previous', {
      nullable: true,
      description:
        "The city's BelAQI as last known before this run (the runs where it had none skipped); null when none was known.",
    }),
    current: t.exposeInt('current', { description: "The city's BelAQI in this run." }),
    rising: t.exposeBoolean('rising', {
      description: 'True: at or above atLeast now (it reached it); false: it fell back below.',
    }),
  }),
});

builder.subscriptionField('airQualityAlerts', (t) =>
  t.field({
    type: AirQualityAlertRef,
    description:
      "Pushed when a city's BelAQI reaches atLeast after being below it (or unknown), and when it falls back below it, as soon as MariaDB has computed the run. " +
      'The first pushes are the current state: every city at or above atLeast in the current run (rising: true). ' +
      'Filtered like Query.airQuality. A city with no BelAQI in a run keeps its last level, so its return is compared with that.',
    args: {
      cities: t.arg.stringList(),
      country: t.arg.string(),
      atLeast: t.arg.int({
        required: true,
        description: `A BelAQI level, ${BELAQI_MIN}-${BELAQI_MAX}.`,
      }),
    },
    subscribe: (_root, args, context, info) => {
      checkSubscriptionComplexity(context, info);
      if (
        !Number.isInteger(args.atLeast) ||
        args.atLeast < BELAQI_MIN ||
        args.atLeast > BELAQI_MAX
      ) {
        throw badUserInput(
          `atLeast ${args.atLeast} is not a BelAQI level: give a whole number from ${BELAQI_MIN} to ${BELAQI_MAX}.`,
        );
      }
      const select = selectAlerts({
        cityNames: cityNamesArgument('cities', args.cities, MAX_CITY_NAMES),
        country: countryArgument(args.country),
        atLeast: args.atLeast,
      });
      return context.poller.stream(select, (alert) => alert.window.cityId);
    },
    resolve: (alert) => alert,
  }),
);
