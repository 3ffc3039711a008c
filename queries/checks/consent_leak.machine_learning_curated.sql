-- id: consent_leak.machine_learning_curated
-- severity: error
-- description: machine_learning_curated rows where the Step Trainer's owner or the phone's user lacks research consent or is unknown
SELECT t.*
FROM machine_learning_curated AS t
LEFT JOIN consent_by_serial AS device ON t.serialNumber = device.serialNumber
LEFT JOIN consent_by_email  AS phone  ON t."user" = phone.email
WHERE device.consenting IS DISTINCT FROM TRUE
   OR phone.consenting IS DISTINCT FROM TRUE
