-- id: consent_leak.accelerometer_trusted
-- severity: error
-- description: accelerometer_trusted readings whose user has no research consent (latest record) or is no known customer
SELECT t.*
FROM accelerometer_trusted AS t
LEFT JOIN consent_by_email AS c ON t.`user` = c.email
WHERE c.consenting IS DISTINCT FROM TRUE
