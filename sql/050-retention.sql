-- belair: retention. purge_old_data(p_at) deletes raw measurements and aggregation runs older than
-- the limits in the setting table, in batches so that no statement holds locks for long:
--   retention.measurement_days  (default 30)  measurements with measured_at < p_at - N days
--   retention.run_days          (default 30)  runs with evaluated_at < p_at - N days, with their rows
--   retention.batch_rows        (default 10000) measurements deleted per statement
-- 0 days keeps that kind of data forever. The current run (latest evaluated_at) is never purged,
-- however old: a city keeps its last known window even if the feed stopped a month ago.
-- Change a limit with: UPDATE setting SET value = '7' WHERE name = 'retention.measurement_days';

DELIMITER //

CREATE OR REPLACE PROCEDURE purge_old_data(IN p_at DATETIME(3))
  MODIFIES SQL DATA
  COMMENT 'Deletes measurements and runs older than the retention settings'
BEGIN
  DECLARE v_lock VARCHAR(64) DEFAULT LEFT(CONCAT('belair.purge_old_data.', DATABASE()), 64);
  DECLARE v_measurement_days INT;
  DECLARE v_run_days INT;
  DECLARE v_batch INT;
  DECLARE v_current BIGINT UNSIGNED;
  DECLARE v_deleted INT;

  IF p_at IS NULL THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'purge_old_data: p_at must be an instant (UTC), not NULL';
  END IF;

  SELECT
    MAX(CASE WHEN name = 'retention.measurement_days' THEN value END),
    MAX(CASE WHEN name = 'retention.run_days' THEN value END),
    MAX(CASE WHEN name = 'retention.batch_rows' THEN value END)
  INTO v_measurement_days, v_run_days, v_batch
  FROM setting WHERE name LIKE 'retention.%';

  IF v_measurement_days IS NULL OR v_measurement_days < 0
     OR v_run_days IS NULL OR v_run_days < 0
     OR v_batch IS NULL OR v_batch < 1 THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT =
      'purge_old_data: settings retention.measurement_days and retention.run_days must be whole numbers >= 0, retention.batch_rows >= 1';
  END IF;

  -- A purge already running in another session: this one has nothing to add.
  IF GET_LOCK(v_lock, 0) IS TRUE THEN
    IF v_measurement_days > 0 THEN
      SET v_deleted = v_batch;
      WHILE v_deleted >= v_batch DO
        -- Each DELETE is its own transaction (autocommit), at READ COMMITTED so that it does not
        -- gap-lock the index range where late measurements may still land.
        SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
        DELETE FROM measurement
          WHERE measured_at < p_at - INTERVAL v_measurement_days DAY
          LIMIT v_batch;
        SET v_deleted = ROW_COUNT();
      END WHILE;
    END IF;

    IF v_run_days > 0 THEN
      SELECT id INTO v_current FROM air_quality_run ORDER BY evaluated_at DESC, id DESC LIMIT 1;
      -- A run holds one row per city and pollutant (hundreds at most): 100 runs per statement
      -- keeps each cascaded delete small.
      SET v_deleted = 100;
      WHILE v_deleted >= 100 DO
        SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
        DELETE FROM air_quality_run
          WHERE evaluated_at < p_at - INTERVAL v_run_days DAY AND id <> COALESCE(v_current, 0)
          LIMIT 100;
        SET v_deleted = ROW_COUNT();
      END WHILE;
    END IF;
    DO RELEASE_LOCK(v_lock);
  END IF;
END //

DELIMITER ;
