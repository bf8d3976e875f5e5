-- belair: reference data. Re-applied on every start: the values below are the source of truth and
-- overwrite what is stored (settings excepted, see the end of the file).

-- The literals below hold µ and ³: make sure the client sends them as UTF-8 whatever its default.
SET NAMES utf8mb4;

-- Pollutants. Molar masses (g/mol) for the ppm -> µg/m³ conversion at 25 °C and 1 atm
-- (µg/m³ = ppm × 1000 × M / 24.45), from the standard atomic weights (IUPAC); particulate matter
-- and black carbon have no molar mass: they are only accepted in µg/m³.
-- plausible_max (µg/m³) is the ingestion's plausibility ceiling: a value above it is rejected as a
-- sensor or transmission fault. Each is several times the worst hourly values on record in Europe
-- (wildfire smoke, dust episodes, industrial accidents) and above the top of the EAQI scale.
INSERT INTO pollutant (code, name, canonical_unit, molar_mass, plausible_max) VALUES
  ('pm25', 'Particulate matter < 2.5 µm', 'µg/m³', NULL,     2000),
  ('pm10', 'Particulate matter < 10 µm',  'µg/m³', NULL,     5000),
  ('no2',  'Nitrogen dioxide',            'µg/m³', 46.0055,  4000),
  ('o3',   'Ozone',                       'µg/m³', 47.9982,  2000),
  ('so2',  'Sulphur dioxide',             'µg/m³', 64.066,  10000),
  ('co',   'Carbon monoxide',             'µg/m³', 28.010, 150000),
  ('bc',   'Black carbon',                'µg/m³', NULL,      500)
ON DUPLICATE KEY UPDATE
  name = VALUES(name), canonical_unit = VALUES(canonical_unit), molar_mass = VALUES(molar_mass),
  plausible_max = VALUES(plausible_max);

-- BelAQI, the Belgian air quality index of IRCEL-CELINE (https://www.irceline.be), scale of
-- November 2022, table for hourly means in µg/m³: the inclusive upper bound of levels 1-9; level 10
-- is everything above level 9. Labels: 1 excellent, 2 very good, 3 good, 4 fairly good,
-- 5 moderate, 6 poor, 7 very poor, 8 bad, 9 very bad, 10 horrible. belair applies it to the 3-hour
-- means of its windows. The overall index of a city is its highest sub-index.
INSERT INTO belaqi_band (pollutant, level, upper_bound) VALUES
  ('pm10', 1, 10),  ('pm10', 2, 20),  ('pm10', 3, 35),  ('pm10', 4, 45),  ('pm10', 5, 60),
  ('pm10', 6, 80),  ('pm10', 7, 95),  ('pm10', 8, 110), ('pm10', 9, 140),
  ('pm25', 1, 3.5), ('pm25', 2, 7.5), ('pm25', 3, 10),  ('pm25', 4, 15),  ('pm25', 5, 20),
  ('pm25', 6, 35),  ('pm25', 7, 50),  ('pm25', 8, 60),  ('pm25', 9, 75),
  ('o3',   1, 30),  ('o3',   2, 65),  ('o3',   3, 75),  ('o3',   4, 90),  ('o3',   5, 110),
  ('o3',   6, 150), ('o3',   7, 180), ('o3',   8, 210), ('o3',   9, 240),
  ('no2',  1, 10),  ('no2',  2, 15),  ('no2',  3, 20),  ('no2',  4, 30),  ('no2',  5, 40),
  ('no2',  6, 45),  ('no2',  7, 50),  ('no2',  8, 60),  ('no2',  9, 75)
ON DUPLICATE KEY UPDATE upper_bound = VALUES(upper_bound);

-- EAQI, the European Air Quality Index of the European Environment Agency
-- (https://airindex.eea.europa.eu), six bands in µg/m³ given by their inclusive upper bounds; the
-- last band runs to the top of the scale. The overall level of a city is its worst pollutant's.
INSERT INTO eaqi_level (level, name) VALUES
  (1, 'GOOD'), (2, 'FAIR'), (3, 'MODERATE'), (4, 'POOR'), (5, 'VERY_POOR'), (6, 'EXTREMELY_POOR')
ON DUPLICATE KEY UPDATE name = VALUES(name);

INSERT INTO eaqi_band (pollutant, level, upper_bound) VALUES
  ('pm25', 1, 10),  ('pm25', 2, 20),  ('pm25', 3, 25),  ('pm25', 4, 50),  ('pm25', 5, 75),
  ('pm25', 6, 800),
  ('pm10', 1, 20),  ('pm10', 2, 40),  ('pm10', 3, 50),  ('pm10', 4, 100), ('pm10', 5, 150),
  ('pm10', 6, 1200),
  ('no2',  1, 40),  ('no2',  2, 90),  ('no2',  3, 120), ('no2',  4, 230), ('no2',  5, 340),
  ('no2',  6, 1000),
  ('o3',   1, 50),  ('o3',   2, 100), ('o3',   3, 130), ('o3',   4, 240), ('o3',   5, 380),
  ('o3',   6, 800),
  ('so2',  1, 100), ('so2',  2, 200), ('so2',  3, 350), ('so2',  4, 500), ('so2',  5, 750),
  ('so2',  6, 1250)
ON DUPLICATE KEY UPDATE upper_bound = VALUES(upper_bound);

-- Settings with their defaults. INSERT IGNORE: an operator's change (UPDATE setting SET value = ...)
-- is kept across restarts.
INSERT IGNORE INTO setting (name, value, description) VALUES
  ('retention.measurement_days', '30',
   'Raw measurements older than this many days (by measured_at) are purged by the purge_old_data event'),
  ('retention.run_days', '30',
   'Aggregation runs older than this many days (by evaluated_at) are purged with their rows; the current run is always kept'),
  ('retention.batch_rows', '10000',
   'Rows deleted per statement by purge_old_data, so that a purge never holds locks for long');
