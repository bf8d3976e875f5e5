-- belair: the aggregation. One call = one run: an air_quality_run row and one city_air_quality row
-- per city and pollutant, written in one transaction, so that readers see either the previous run
-- or this one, whole, and never an empty table.
--
-- Window: p_at - 3 h < measured_at <= p_at (measurement time, UTC). p_at is an argument so that
-- tests, backfills and the refreshAirQuality mutation are deterministic; the EVENT passes
-- UTC_TIMESTAMP(3).
--
-- Runs never overlap: the scheduler starts a new run even while the last one still runs, so a run
-- takes a named lock (belair_lock_name('refresh_air_quality'), see 025-locks.sql) without waiting
-- and fails with "another run is in progress" when it is taken. The lock is recursive: a caller
-- that already holds it (the API waits a few seconds for it before calling) gets in. After a
-- successful run the session variable @refresh_air_quality_run_id holds the new run's id (NULL
-- after a failed one).
--
-- Isolation: READ COMMITTED for the run's transaction. At REPEATABLE READ the INSERT ... SELECT
-- takes next-key locks on the window's index range, exactly where new measurements land, and
-- stalls ingestion for the duration of the run. The run is its own transaction, so it refuses to
-- start inside a caller's open one (which START TRANSACTION would silently commit).

DELIMITER //

CREATE OR REPLACE PROCEDURE refresh_air_quality(IN p_at DATETIME(3))
  MODIFIES SQL DATA
  COMMENT 'Aggregates the 3-hour window ending at p_at into a new air_quality_run'
BEGIN
  DECLARE v_lock VARCHAR(64) DEFAULT belair_lock_name('refresh_air_quality');
  DECLARE v_locked BOOLEAN DEFAULT FALSE;
  DECLARE v_open BOOLEAN DEFAULT FALSE;   -- this run's transaction is open
  DECLARE v_started DATETIME(6) DEFAULT SYSDATE(6);
  DECLARE v_run BIGINT UNSIGNED;

  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    -- Roll back this run's own transaction only, never a caller's.
    IF v_open THEN
      ROLLBACK;
    END IF;
    IF v_locked THEN
      DO RELEASE_LOCK(v_lock);
    END IF;
    RESIGNAL;
  END;

  SET @refresh_air_quality_run_id = NULL;
  IF p_at IS NULL THEN
    SIGNAL SQLSTATE '45000'
      SET MESSAGE_TEXT = 'refresh_air_quality: p_at must be an instant (UTC), not NULL';
  END IF;
  IF @@in_transaction THEN
    SIGNAL SQLSTATE '45000'
      SET MESSAGE_TEXT = 'refresh_air_quality: call it outside a transaction, it commits its own';
  END IF;

  IF GET_LOCK(v_lock, 0) IS NOT TRUE THEN
    SIGNAL SQLSTATE '45000'
      SET MESSAGE_TEXT = 'refresh_air_quality: another run is in progress';
  END IF;
  SET v_locked = TRUE;

  SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
  START TRANSACTION;
  SET v_open = TRUE;

  INSERT INTO air_quality_run (evaluated_at, window_start, window_end)
    VALUES (p_at, p_at - INTERVAL 3 HOUR, p_at);
  SET v_run = LAST_INSERT_ID();

  -- The inner SELECT is a range scan of measurement_window, which covers every column it reads.
  -- The access path is pinned (FORCE INDEX, STRAIGHT_JOIN): starting from location instead would
  -- walk each station's whole history through the primary key, costing what the table holds.
  -- The outer SELECT adds the index levels to the few hundred grouped rows. They are the rule of
  -- belaqi_level() and eaqi_level() (030-index-levels.sql) written inline: a stored function call
  -- costs about 50 µs, which for 100 rows × 2 levels was 10 ms a run, as much as aggregating 10k
  -- window rows (npm run bench -- --scenario refresh); a correlated subquery costs a tenth of it.
  -- test/air-quality-levels.test.ts checks that both give the same levels.
  INSERT INTO city_air_quality
    (run_id, city_id, pollutant, unit, average, min, max, count, locations, latest_measured_at,
     belaqi, eaqi)
  SELECT v_run, w.city_id, w.pollutant, p.canonical_unit, w.average, w.min, w.max, w.count,
         w.locations, w.latest_measured_at,
         (SELECT COALESCE(MIN(CASE WHEN w.average <= b.upper_bound THEN b.level END), MAX(b.level) + 1)
            FROM belaqi_band b WHERE b.pollutant = w.pollutant),
         (SELECT COALESCE(MIN(CASE WHEN w.average <= e.upper_bound THEN e.level END), MAX(e.level))
            FROM eaqi_band e WHERE e.pollutant = w.pollutant)
  FROM (
    SELECT l.city_id, m.pollutant,
           AVG(m.value) AS average, MIN(m.value) AS min, MAX(m.value) AS max,
           COUNT(*) AS count, COUNT(DISTINCT m.location_id) AS locations,
           MAX(m.measured_at) AS latest_measured_at
    FROM measurement m FORCE INDEX (measurement_window)
    STRAIGHT_JOIN location l ON l.id = m.location_id
    WHERE m.measured_at > p_at - INTERVAL 3 HOUR AND m.measured_at <= p_at
    GROUP BY l.city_id, m.pollutant
  ) w
  JOIN pollutant p ON p.code = w.pollutant;

  UPDATE air_quality_run r
  JOIN (
    SELECT COALESCE(SUM(count), 0) AS measurements, COUNT(DISTINCT city_id) AS cities
    FROM city_air_quality WHERE run_id = v_run
  ) s
  SET r.measurements = s.measurements,
      r.cities = s.cities,
      r.duration_ms = TIMESTAMPDIFF(MICROSECOND, v_started, SYSDATE(6)) / 1000
  WHERE r.id = v_run;

  COMMIT;
  SET v_open = FALSE;
  DO RELEASE_LOCK(v_lock);
  SET @refresh_air_quality_run_id = v_run;
END //

DELIMITER ;
