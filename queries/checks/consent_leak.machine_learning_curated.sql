-- id: consent_leak.machine_learning_curated
-- severity: error
-- description: machine_learning_curated rows where the Step Trainer's owner or the phone's user lacks research consent or is unknown
-- The rubric table names the phone's user by `user` and the device by serialNumber; the strict
-- table only by customer_pseudonym and device_pseudonym, turned back here with
-- customer_pseudonyms and device_pseudonyms (same key). machine_learning_curated_with_keys is the
-- table plus, as NULL, whichever of those columns it lacks.
SELECT t.*
FROM machine_learning_curated_with_keys AS t
LEFT JOIN customer_pseudonyms AS p ON t.customer_pseudonym = p.customer_pseudonym
LEFT JOIN device_pseudonyms AS d ON t.device_pseudonym = d.device_pseudonym
LEFT JOIN consent_by_serial AS device ON coalesce(d.serialNumber, t.serialNumber) = device.serialNumber
LEFT JOIN consent_by_email  AS phone  ON coalesce(p.customer_id, lower(trim(t.`user`))) = phone.customer_id
WHERE device.consenting IS DISTINCT FROM TRUE
   OR phone.consenting IS DISTINCT FROM TRUE
