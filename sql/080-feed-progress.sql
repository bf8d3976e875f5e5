-- belair: the progress of the feeds (npm run feed -- irceline|openaq), per upstream series.
--
-- A series is what one upstream request names: an IRCEL-CELINE timeseries id, an OpenAQ sensor
-- id. fetched_until is the time of the newest value the feed has fetched and handed to ingestion
-- (stored, unchanged or rejected alike): the next poll asks only for what is newer, so that a
-- restart neither downloads again what is stored nor leaves a hole. It only moves forward.

SET NAMES utf8mb4;

CREATE TABLE IF NOT EXISTS feed_progress (
  feed           VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,   -- irceline, openaq
  series         VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,   -- the upstream's id
  fetched_until  DATETIME(3) NOT NULL,                                          -- UTC
  updated_at     DATETIME(3) NOT NULL DEFAULT UTC_TIMESTAMP(3),                 -- UTC
  PRIMARY KEY (feed, series)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
