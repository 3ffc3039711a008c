-- id: pre_consent.machine_learning_curated
-- severity: warn
-- description: machine_learning_curated rows with a reading taken before its owner's (device's or phone's) consent
SELECT t.*, device.consent_at AS device_consent_at, phone.consent_at AS phone_consent_at
FROM machine_learning_curated AS t
LEFT JOIN consent_by_serial AS device ON t.serialNumber = device.serialNumber
LEFT JOIN consent_by_email  AS phone  ON t."user" = phone.email
WHERE t.sensorReadingTime < device.consent_at
   OR t."timestamp" < phone.consent_at
