-- id: pre_consent.machine_learning_curated
-- severity: warn
-- description: machine_learning_curated rows with a reading taken before its owner's (device's or phone's) consent
-- The phone's user: `user` (rubric table) or customer_pseudonym turned back into the email (strict).
WITH ml AS (
    SELECT *, COLUMNS('^(user|customer_pseudonym)$') AS phone_key
    FROM machine_learning_curated
)
SELECT t.* EXCLUDE (phone_key), device.consent_at AS device_consent_at, phone.consent_at AS phone_consent_at
FROM ml AS t
LEFT JOIN customer_pseudonyms AS p ON t.phone_key = p.customer_pseudonym
LEFT JOIN consent_by_serial AS device ON t.serialNumber = device.serialNumber
LEFT JOIN consent_by_email  AS phone  ON coalesce(p.email, t.phone_key) = phone.email
WHERE t.sensorReadingTime < device.consent_at
   OR t."timestamp" < phone.consent_at
