-- belair: cities are municipalities, with their names in every national language.
--
-- Three tables of reference data, filled by 083-085:
--   city_name     the names of a city in Dutch, French, German and English, under the name belair
--                 stores it by (city.name);
--   city_alias    every other name that means the same city: its four names, the former
--                 municipalities and districts it is made of (Borgerhout is Antwerpen, Marcinelle
--                 is Charleroi), and the 19 communes of the Brussels-Capital Region, which belair
--                 counts as the one city Brussels;
--   station_city  the municipality of each Belgian measuring station, by its national code
--                 (42R803) and its European code (BETR803), where labels and localities cannot
--                 say it (Wol.St.L., Mariakerke, Jemeppe, a null OpenAQ locality).
--
-- Ingestion stores a measurement under its station's municipality when it sends a known
-- stationCode, else under the city that its city name is an alias of, else under the name as
-- sent. Every GraphQL argument that takes a city name resolves it the same way. Provinces and
-- regions (Oost-Vlaanderen, Brussels-Capital Region, as the old OpenAQ feed named its "cities")
-- are not municipalities and are no alias of anything: what was stored under them stays there.
--
-- Names are matched byte for byte (binary collation), as city.name is.

SET NAMES utf8mb4;

CREATE TABLE IF NOT EXISTS city_name (
  country  CHAR(2) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  city     VARCHAR(128) NOT NULL,   -- the name belair stores the city under (city.name)
  nl       VARCHAR(128) NOT NULL,
  fr       VARCHAR(128) NOT NULL,
  de       VARCHAR(128) NOT NULL,
  en       VARCHAR(128) NOT NULL,
  PRIMARY KEY (country, city)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS city_alias (
  country  CHAR(2) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  alias    VARCHAR(128) NOT NULL,
  city     VARCHAR(128) NOT NULL,
  PRIMARY KEY (country, alias),
  KEY city_alias_city (country, city),
  CONSTRAINT city_alias_city FOREIGN KEY (country, city) REFERENCES city_name (country, city)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS station_city (
  country  CHAR(2) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  code     VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,   -- 42R803 or BETR803
  city     VARCHAR(128) NOT NULL,
  label    VARCHAR(128) NOT NULL,   -- the station's label at IRCEL-CELINE, for people
  PRIMARY KEY (country, code),
  KEY station_city_city (country, city),
  CONSTRAINT station_city_city FOREIGN KEY (country, city) REFERENCES city_name (country, city)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
