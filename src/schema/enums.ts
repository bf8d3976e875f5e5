import { builder } from './builder.js';

/** GraphQL names for the OpenAQ parameter codes the database stores. */
export const Pollutant = builder.enumType('Pollutant', {
  description: 'The pollutants belair measures; each value stands for its OpenAQ parameter code.',
  values: {
    PM25: { value: 'pm25', description: 'Particulate matter < 2.5 µm (pm25)' },
    PM10: { value: 'pm10', description: 'Particulate matter < 10 µm (pm10)' },
    NO2: { value: 'no2', description: 'Nitrogen dioxide (no2)' },
    O3: { value: 'o3', description: 'Ozone (o3)' },
    SO2: { value: 'so2', description: 'Sulphur dioxide (so2)' },
    CO: { value: 'co', description: 'Carbon monoxide (co)' },
    BC: { value: 'bc', description: 'Black carbon (bc)' },
  } as const,
});

/** The EEA's European Air Quality Index levels; the values are eaqi_level.level. */
export const EaqiLevel = builder.enumType('EaqiLevel', {
  description: 'European Air Quality Index (EEA) level, from best to worst.',
  values: {
    GOOD: { value: 1 },
    FAIR: { value: 2 },
    MODERATE: { value: 3 },
    POOR: { value: 4 },
    VERY_POOR: { value: 5 },
    EXTREMELY_POOR: { value: 6 },
  } as const,
});
