-- id: consent_leak.machine_learning_curated
-- severity: error
-- description: machine_learning_curated rows where the Step Trainer's owner or the phone's user lacks research consent or is unknown
-- The phone's user is `user` in the rubric table; the strict table names them only by
-- customer_pseudonym, turned back into the email here with customer_pseudonyms (same key).
WITH ml AS (
    SELECT *, COLUMNS('^(user|customer_pseudonym)$') AS phone_key
    FROM machine_learning_curated
)
SELECT t.* EXCLUDE (phone_key)
FROM ml AS t
LEFT JOIN customer_pseudonyms AS p ON t.phone_key = p.customer_pseudonym
LEFT JOIN consent_by_serial AS device ON t.serialNumber = device.serialNumber
LEFT JOIN consent_by_email  AS phone  ON coalesce(p.email, t.phone_key) = phone.email
WHERE device.consenting IS DISTINCT FROM TRUE
   OR phone.consenting IS DISTINCT FROM TRUE
