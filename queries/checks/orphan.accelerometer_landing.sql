-- id: orphan.accelerometer_landing
-- severity: warn
-- description: accelerometer readings whose user is no customer's email (never usable, never consented)
SELECT a.*
FROM accelerometer_landing AS a
WHERE a.`user` NOT IN (SELECT email FROM customer_landing)
