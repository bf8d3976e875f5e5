-- belair: retention. purge_old_data(p_at) deletes raw measurements and aggregation runs older than
-- the limits in the setting table, in batches so that no statement holds locks for long:
--   retention.measurement_days  (default 30)  measurements with measured_at < p_at - N days
--   retention.run_days          (default 30)  runs with evaluated_at < p_at - N days, with their rows
--   retention.batch_rows        (default 10000) measurements deleted per statement
-- 0 days keeps that kind of data forever. The current run (latest evaluated_at) is never purged,
-- however old: a city keeps its last known window even if the feed stopped a month ago.
-- Change a limit with: UPDATE setting SET value = '7' WHERE name = 'retention.measurement_days';

DELIMITER //

-- A retention setting as a whole number from p_min to p_max. Settings are text an operator edits
-- by hand: a plain cast would quietly turn 'abc' into 0 ("keep forever"), so anything else is an
-- error that names the setting and what it holds.
CREATE OR REPLACE FUNCTION retention_setting(p_name VARCHAR(64) CHARACTER SET ascii, p_min INT, p_max INT)
  RETURNS INT
  READS SQL DATA
BEGIN
  DECLARE v_text VARCHAR(255) DEFAULT (SELECT value FROM setting WHERE name = p_name);
  DECLARE v_message VARCHAR(128);
  IF v_text IS NULL OR v_text NOT REGEXP '^[0-9]{1,7}$'
     OR CAST(v_text AS UNSIGNED) NOT BETWEEN p_min AND p_max THEN
    SET v_message = CONCAT('purge_old_data: ', p_name, ' must be a whole number from ', p_min, ' to ',
                           p_max, '; it is ', IF(v_text IS NULL, 'missing', QUOTE(LEFT(v_text, 16))));
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = v_message;
  END IF;
  RETURN CAST(v_text AS UNSIGNED);
END //

CREATE OR REPLACE PROCEDURE purge_old_data(IN p_at DATETIME(3))
  MODIFIES SQL DATA
  COMMENT 'Deletes measurements and runs older than the retention settings'
BEGIN
  DECLARE v_lock VARCHAR(64) DEFAULT belair_lock_name('purge_old_data');
  DECLARE v_measurement_days, v_run_days, v_batch INT;
  DECLARE v_current BIGINT UNSIGNED;
  DECLARE v_deleted INT;
  DECLARE v_locked BOOLEAN DEFAULT FALSE;

  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    IF v_locked THEN
      DO RELEASE_LOCK(v_lock);
    END IF;
    RESIGNAL;
  END;

  IF p_at IS NULL THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'purge_old_data: p_at must be an instant (UTC), not NULL';
  END IF;
  IF @@in_transaction THEN
    SIGNAL SQLSTATE '45000'
      SET MESSAGE_TEXT = 'purge_old_data: call it outside a transaction, it commits in batches';
  END IF;

  SET v_measurement_days = retention_setting('retention.measurement_days', 0, 36500);
  SET v_run_days = retention_setting('retention.run_days', 0, 36500);
  SET v_batch = retention_setting('retention.batch_rows', 1, 1000000);

  -- A purge already running in another session: this one has nothing to add.
  IF GET_LOCK(v_lock, 0) IS TRUE THEN
    SET v_locked = TRUE;
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
      SET v_current = (SELECT id FROM air_quality_run ORDER BY evaluated_at DESC, id DESC LIMIT 1);
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
    SET v_locked = FALSE;
  END IF;
END //

DELIMITER ;
