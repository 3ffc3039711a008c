-- id: consent_leak.accelerometer_trusted
-- severity: error
-- description: accelerometer_trusted readings whose user (any spelling of the address) has no research consent by their latest record, or is no known customer
SELECT t.*
FROM accelerometer_trusted AS t
LEFT JOIN consent_by_email AS c ON lower(trim(t.`user`)) = c.customer_id
WHERE c.consenting IS DISTINCT FROM TRUE
