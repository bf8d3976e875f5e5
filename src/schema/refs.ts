import type { AirQualityAlert } from '../air-quality/alerts.js';
import type { CityWindow, PollutantWindow } from '../db/air-quality.js';
import type { City } from '../db/cities.js';
import type { CityNames } from '../db/city-directory.js';
import type { LatestMeasurement } from '../db/latest-measurements.js';
import type { LocationRow } from '../db/locations.js';
import type { AirQualityRun } from '../db/runs.js';
import { builder } from './builder.js';

/**
 * The object types that other type files refer to, in one place (as Pothos's example app keeps
 * them), so that the type files import this module rather than each other. Each ref's fields are
 * defined in the file named after it; the order here is the order of the printed schema.
 */
export const AirQualityRunRef = builder.objectRef<AirQualityRun>('AirQualityRun');
export const PollutantWindowRef = builder.objectRef<PollutantWindow>('PollutantWindow');
export const CityAirQualityRef = builder.objectRef<CityWindow>('CityAirQuality');
export const LocationRef = builder.objectRef<LocationRow>('Location');
export const CityNamesRef = builder.objectRef<CityNames>('CityNames');
export const CityRef = builder.objectRef<City>('City');
export const LatestMeasurementRef = builder.objectRef<LatestMeasurement>('LatestMeasurement');
export const AirQualityAlertRef = builder.objectRef<AirQualityAlert>('AirQualityAlert');
