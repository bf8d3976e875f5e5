-- belair: views for people (Adminer, the mariadb client); the API does not read them.

-- The current window of every city, one row per pollutant, with names and level labels.
CREATE OR REPLACE VIEW current_air_quality AS
SELECT c.country, c.name AS city, q.pollutant, q.unit, q.average, q.min, q.max, q.count,
       q.locations, q.latest_measured_at, q.belaqi, e.name AS eaqi,
       r.id AS run_id, r.evaluated_at, r.window_start, r.window_end
FROM air_quality_run r
JOIN city_air_quality q ON q.run_id = r.id
JOIN city c ON c.id = q.city_id
LEFT JOIN eaqi_level e ON e.level = q.eaqi
WHERE r.id = (SELECT id FROM air_quality_run ORDER BY evaluated_at DESC, id DESC LIMIT 1);
