-- belair: names of the server-wide locks (GET_LOCK) that keep runs of the same procedure on the
-- same database from overlapping. Lock names are global to the server and at most 64 characters:
-- the database's name is part of them, so that two belair databases on one server never block each
-- other, and is replaced by its MD5 where it would make the name too long (cutting it instead
-- could give two databases the same lock).
--
-- The API takes the refresh lock itself to wait for a running refresh:
--   SELECT GET_LOCK(belair_lock_name('refresh_air_quality'), 5);

DELIMITER //

CREATE OR REPLACE FUNCTION belair_lock_name(p_purpose VARCHAR(24) CHARACTER SET ascii)
  RETURNS VARCHAR(64) CHARACTER SET utf8mb4
  DETERMINISTIC
  NO SQL
  COMMENT 'Name of the GET_LOCK lock that serialises p_purpose on this database'
BEGIN
  DECLARE v_name VARCHAR(200) CHARACTER SET utf8mb4 DEFAULT CONCAT('belair.', p_purpose, '.', DATABASE());
  IF CHAR_LENGTH(v_name) <= 64 THEN
    RETURN v_name;
  END IF;
  RETURN CONCAT('belair.', p_purpose, '.', MD5(DATABASE()));
END //

DELIMITER ;
