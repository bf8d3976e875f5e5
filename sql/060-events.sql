-- belair: the schedule. The EVENTs only run while the server's event scheduler is ON
-- (SET GLOBAL event_scheduler = ON, or event_scheduler=ON under [mysqld] in my.cnf); the API's
-- migrator turns it on at every start where it may.
--
-- CREATE EVENT IF NOT EXISTS, then ALTER EVENT ... DO: re-applying this file updates what an event
-- does but keeps its schedule and whether it is enabled, so an operator who disabled an event or
-- changed its interval keeps that across restarts (CREATE OR REPLACE would reset both).
-- STARTS one minute from creation: an event with no STARTS fires the moment it is created.
-- Events are replicated disabled (SLAVESIDE_DISABLED), so only the primary aggregates.

CREATE EVENT IF NOT EXISTS refresh_air_quality
  ON SCHEDULE EVERY 5 MINUTE STARTS CURRENT_TIMESTAMP + INTERVAL 1 MINUTE
  ON COMPLETION PRESERVE
  ENABLE
  COMMENT 'Aggregates the last three hours of measurements per city and pollutant'
  DO CALL refresh_air_quality(UTC_TIMESTAMP(3));

ALTER EVENT refresh_air_quality
  DO CALL refresh_air_quality(UTC_TIMESTAMP(3));

CREATE EVENT IF NOT EXISTS purge_old_data
  ON SCHEDULE EVERY 1 HOUR STARTS CURRENT_TIMESTAMP + INTERVAL 10 MINUTE
  ON COMPLETION PRESERVE
  ENABLE
  COMMENT 'Purges measurements and runs older than the retention settings (table setting)'
  DO CALL purge_old_data(UTC_TIMESTAMP(3));

ALTER EVENT purge_old_data
  DO CALL purge_old_data(UTC_TIMESTAMP(3));
