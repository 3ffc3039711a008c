-- customer_curated: consenting customers who also have accelerometer data.
-- Keeps: customer_trusted records whose email has at least one accelerometer_trusted reading;
-- customer columns only; DISTINCT because landing may hold the same record twice.
-- drops: no trusted accelerometer readings (or an exact duplicate record)
-- Reads: customer_trusted, accelerometer_trusted, erased_keys.
SELECT DISTINCT c.*
FROM customer_trusted AS c
WHERE c.email IN (SELECT `user` FROM accelerometer_trusted)
  AND lower(trim(c.email)) NOT IN (SELECT key FROM erased_keys)
