-- id: pre_consent.machine_learning_curated
-- severity: warn
-- description: machine_learning_curated rows with a reading taken before its owner's (device's or phone's) consent
-- The phone's user and the device as in consent_leak.machine_learning_curated: raw in the rubric
-- table, turned back from their pseudonyms in the strict one.
SELECT t.*, device.consent_at AS device_consent_at, phone.consent_at AS phone_consent_at
FROM machine_learning_curated_with_keys AS t
LEFT JOIN customer_pseudonyms AS p ON t.customer_pseudonym = p.customer_pseudonym
LEFT JOIN device_pseudonyms AS d ON t.device_pseudonym = d.device_pseudonym
LEFT JOIN consent_by_serial AS device ON coalesce(d.serialNumber, t.serialNumber) = device.serialNumber
LEFT JOIN consent_by_email  AS phone  ON coalesce(p.customer_id, lower(trim(t.`user`))) = phone.customer_id
WHERE t.sensorReadingTime < device.consent_at
   OR t.`timestamp` < phone.consent_at
