-- belair: tables. Applied in alphabetical order with the other files of sql/, on every start of
-- the API (npm run db:migrate) and by the mariadb client of docker-compose's MariaDB
-- (/docker-entrypoint-initdb.d). Every statement is idempotent.
--
-- Times are DATETIME(3) holding UTC. Names that identify things (country, city, station) use the
-- binary collation: what a feed sends is what is stored and matched, byte for byte, so SQL and the
-- API's in-memory maps always agree on what "the same city" is.

-- Literals below hold µ and ³: make sure the client sends them as UTF-8 whatever its default.
SET NAMES utf8mb4;

-- Pollutants the service knows, with the unit everything is normalised to and the molar mass used
-- to convert ppm at 25 °C (µg/m³ = ppm × 1000 × M / 24.45). Rows in 020-reference-data.sql.
CREATE TABLE IF NOT EXISTS pollutant (
  code            VARCHAR(8)   CHARACTER SET ascii COLLATE ascii_bin NOT NULL,  -- OpenAQ parameter code: pm25, no2, ...
  name            VARCHAR(64)  NOT NULL,
  canonical_unit  VARCHAR(16)  NOT NULL,                      -- µg/m³ for all of them
  molar_mass      DOUBLE       NULL,                          -- g/mol; NULL where ppm makes no sense
  plausible_max   DOUBLE       NOT NULL,                      -- µg/m³; above it a reading is a fault
  PRIMARY KEY (code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- BelAQI sub-index bands (IRCEL-CELINE): level 1-9 with their inclusive upper bounds; above the
-- level-9 bound the sub-index is 10.
CREATE TABLE IF NOT EXISTS belaqi_band (
  pollutant    VARCHAR(8) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  level        TINYINT UNSIGNED NOT NULL,
  upper_bound  DOUBLE NOT NULL,
  PRIMARY KEY (pollutant, level),
  CONSTRAINT belaqi_band_pollutant FOREIGN KEY (pollutant) REFERENCES pollutant (code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- EAQI levels (EEA) and their bands: level 1 GOOD .. 6 EXTREMELY_POOR, inclusive upper bounds; the
-- last band runs to the top of the scale.
CREATE TABLE IF NOT EXISTS eaqi_level (
  level  TINYINT UNSIGNED NOT NULL,
  name   VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  PRIMARY KEY (level),
  UNIQUE KEY eaqi_level_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS eaqi_band (
  pollutant    VARCHAR(8) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  level        TINYINT UNSIGNED NOT NULL,
  upper_bound  DOUBLE NOT NULL,
  PRIMARY KEY (pollutant, level),
  CONSTRAINT eaqi_band_pollutant FOREIGN KEY (pollutant) REFERENCES pollutant (code),
  CONSTRAINT eaqi_band_level FOREIGN KEY (level) REFERENCES eaqi_level (level)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Operator settings read by the procedures (retention limits). Rows are inserted only when missing,
-- so a value an operator changed survives every later start.
CREATE TABLE IF NOT EXISTS setting (
  name         VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  value        VARCHAR(255) NOT NULL,
  description  VARCHAR(255) NOT NULL,
  PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A city as the feed names it; in the Belgian feed often a province or region.
CREATE TABLE IF NOT EXISTS city (
  id       INT UNSIGNED NOT NULL AUTO_INCREMENT,
  country  CHAR(2) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,   -- ISO 3166-1 alpha-2, upper case
  name     VARCHAR(128) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY city_country_name (country, name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A measuring station, identified by (country, city, name).
CREATE TABLE IF NOT EXISTS location (
  id           INT UNSIGNED NOT NULL AUTO_INCREMENT,
  city_id      INT UNSIGNED NOT NULL,
  name         VARCHAR(128) NOT NULL,
  latitude     DOUBLE NULL,
  longitude    DOUBLE NULL,
  source_name  VARCHAR(128) NULL,
  source_type  VARCHAR(64) NULL,
  PRIMARY KEY (id),
  UNIQUE KEY location_city_name (city_id, name),
  CONSTRAINT location_city FOREIGN KEY (city_id) REFERENCES city (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Raw measurements. The natural key is the primary key, so a repeated measurement is stored once
-- and no auto-increment id is burnt by duplicates (the feed repeats itself a lot).
-- original_value/original_unit keep what the source sent; value is that value normalised to
-- µg/m³, computed by the database itself so that every writer (the API, a script, Adminer) stores
-- the same thing: ppm at 25 °C and 1 atm, µg/m³ = ppm × 1000 × M / 24.45, with the molar masses M
-- of pollutant.molar_mass (a test checks that the two agree).
CREATE TABLE IF NOT EXISTS measurement (
  location_id     INT UNSIGNED NOT NULL,
  pollutant       VARCHAR(8) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  measured_at     DATETIME(3) NOT NULL,                   -- UTC
  original_value  DOUBLE NOT NULL,
  original_unit   VARCHAR(8) NOT NULL,                    -- 'µg/m³' or 'ppm'
  value           DOUBLE AS (CASE WHEN original_unit = 'ppm' THEN original_value * 1000 *
                    (CASE pollutant WHEN 'no2' THEN 46.0055 WHEN 'o3' THEN 47.9982
                                    WHEN 'so2' THEN 64.066 WHEN 'co' THEN 28.010 END) / 24.45
                    ELSE original_value END) STORED,     -- µg/m³
  PRIMARY KEY (location_id, pollutant, measured_at),
  -- The window index: the 3-hour aggregate reads a range of measured_at, and every column it
  -- touches is in this index (InnoDB appends the primary key, i.e. location_id and pollutant), so
  -- the refresh costs what the window holds, never what the table holds.
  KEY measurement_window (measured_at, value),
  CONSTRAINT measurement_unit CHECK (original_unit IN ('µg/m³', 'ppm')),
  CONSTRAINT measurement_ppm_gas CHECK (original_unit <> 'ppm' OR pollutant IN ('no2', 'o3', 'so2', 'co')),
  CONSTRAINT measurement_value CHECK (original_value >= 0),
  CONSTRAINT measurement_location FOREIGN KEY (location_id) REFERENCES location (id),
  CONSTRAINT measurement_pollutant FOREIGN KEY (pollutant) REFERENCES pollutant (code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per aggregation run. The current run is the one with the latest evaluated_at.
CREATE TABLE IF NOT EXISTS air_quality_run (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  evaluated_at  DATETIME(3) NOT NULL,   -- p_at: the instant the window ends at
  window_start  DATETIME(3) NOT NULL,   -- exclusive: p_at - 3 h
  window_end    DATETIME(3) NOT NULL,   -- inclusive: p_at
  measurements  INT UNSIGNED NOT NULL DEFAULT 0,
  cities        INT UNSIGNED NOT NULL DEFAULT 0,
  duration_ms   DOUBLE NULL,
  created_at    DATETIME(3) NOT NULL DEFAULT UTC_TIMESTAMP(3),
  PRIMARY KEY (id),
  KEY air_quality_run_evaluated_at (evaluated_at, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per run × city × pollutant.
CREATE TABLE IF NOT EXISTS city_air_quality (
  run_id              BIGINT UNSIGNED NOT NULL,
  city_id             INT UNSIGNED NOT NULL,
  pollutant           VARCHAR(8) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  unit                VARCHAR(16) NOT NULL,
  average             DOUBLE NOT NULL,
  min                 DOUBLE NOT NULL,
  max                 DOUBLE NOT NULL,
  count               INT UNSIGNED NOT NULL,
  locations           INT UNSIGNED NOT NULL,
  latest_measured_at  DATETIME(3) NOT NULL,
  belaqi              TINYINT UNSIGNED NULL,   -- 1..10, NULL where BelAQI has no table for it
  eaqi                TINYINT UNSIGNED NULL,   -- eaqi_level.level, NULL where EAQI has no band
  PRIMARY KEY (run_id, city_id, pollutant),
  KEY city_air_quality_city (city_id, run_id),
  CONSTRAINT city_air_quality_run FOREIGN KEY (run_id) REFERENCES air_quality_run (id)
    ON DELETE CASCADE,
  CONSTRAINT city_air_quality_city FOREIGN KEY (city_id) REFERENCES city (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
