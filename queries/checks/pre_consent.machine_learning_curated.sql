-- id: pre_consent.machine_learning_curated
-- severity: warn
-- description: machine_learning_curated rows with a reading taken before its owner's (device's or phone's) consent
-- The phone's user: `user` (rubric table) or customer_pseudonym turned back into the email (strict);
-- machine_learning_curated_with_keys has both columns (NULL where the table lacks one).
SELECT t.*, device.consent_at AS device_consent_at, phone.consent_at AS phone_consent_at
FROM machine_learning_curated_with_keys AS t
LEFT JOIN customer_pseudonyms AS p ON t.customer_pseudonym = p.customer_pseudonym
LEFT JOIN consent_by_serial AS device ON t.serialNumber = device.serialNumber
LEFT JOIN consent_by_email  AS phone  ON coalesce(p.email, t.`user`) = phone.email
WHERE t.sensorReadingTime < device.consent_at
   OR t.`timestamp` < phone.consent_at
