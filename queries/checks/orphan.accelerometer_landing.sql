-- id: orphan.accelerometer_landing
-- severity: warn
-- description: accelerometer readings whose user is no customer's email, under any spelling (never usable, never consented)
SELECT a.*
FROM accelerometer_landing AS a
WHERE lower(trim(a.`user`)) NOT IN (SELECT customer_id FROM customer_records)
