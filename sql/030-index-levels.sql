-- belair: index levels of a value, from the bands in the reference tables. Used by
-- refresh_air_quality; handy in Adminer too: SELECT belaqi_level('pm10', 42), eaqi_level('o3', 101).
-- Upper bounds are inclusive: a value equal to a band's bound belongs to that band.

DELIMITER //

-- BelAQI sub-index 1..10 of a value in µg/m³; NULL for a pollutant BelAQI has no table for.
CREATE OR REPLACE FUNCTION belaqi_level(p_pollutant VARCHAR(8) CHARACTER SET ascii, p_value DOUBLE)
  RETURNS TINYINT UNSIGNED
  READS SQL DATA
BEGIN
  DECLARE v_level TINYINT UNSIGNED;
  DECLARE v_top TINYINT UNSIGNED;
  IF p_value IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT MIN(CASE WHEN p_value <= upper_bound THEN level END), MAX(level)
    INTO v_level, v_top
    FROM belaqi_band WHERE pollutant = p_pollutant;
  IF v_top IS NULL THEN
    RETURN NULL;
  END IF;
  -- Above the bound of the last tabulated level (9) is the level after it (10, "horrible").
  RETURN COALESCE(v_level, v_top + 1);
END //

-- EAQI level 1..6 (eaqi_level) of a value in µg/m³; NULL for a pollutant EAQI has no band for.
CREATE OR REPLACE FUNCTION eaqi_level(p_pollutant VARCHAR(8) CHARACTER SET ascii, p_value DOUBLE)
  RETURNS TINYINT UNSIGNED
  READS SQL DATA
BEGIN
  DECLARE v_level TINYINT UNSIGNED;
  DECLARE v_top TINYINT UNSIGNED;
  IF p_value IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT MIN(CASE WHEN p_value <= upper_bound THEN level END), MAX(level)
    INTO v_level, v_top
    FROM eaqi_band WHERE pollutant = p_pollutant;
  -- The last band runs to the top of the scale: beyond its nominal bound it is still the last.
  RETURN COALESCE(v_level, v_top);
END //

DELIMITER ;
