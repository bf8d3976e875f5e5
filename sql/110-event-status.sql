-- belair: the state of this database's refresh EVENT, for the API's readiness check (GET /readyz).
--
-- information_schema.EVENTS shows an EVENT only to users with the EVENT privilege on its
-- database. The API's own user in production may only read, write and execute (SELECT, INSERT,
-- UPDATE, DELETE, EXECUTE; see docs/deployment.md): it would see no EVENT at all and never be
-- ready. This function runs with the rights of its definer, the user that applied sql/.

DELIMITER //

CREATE OR REPLACE FUNCTION refresh_event_status()
  RETURNS VARCHAR(18) CHARACTER SET ascii
  READS SQL DATA
  SQL SECURITY DEFINER
  COMMENT 'STATUS of the refresh_air_quality EVENT: ENABLED, DISABLED, SLAVESIDE_DISABLED; NULL if missing'
BEGIN
  RETURN (SELECT STATUS FROM information_schema.EVENTS
           WHERE EVENT_SCHEMA = DATABASE() AND EVENT_NAME = 'refresh_air_quality');
END //

DELIMITER ;
