-- id: consent_leak.machine_learning_curated
-- severity: error
-- description: machine_learning_curated rows where the Step Trainer's owner or the phone's user lacks research consent or is unknown
-- The phone's user is `user` in the rubric table; the strict table names them only by
-- customer_pseudonym, turned back into the email here with customer_pseudonyms (same key).
-- machine_learning_curated_with_keys is the table plus, as NULL, whichever of those columns it lacks.
SELECT t.*
FROM machine_learning_curated_with_keys AS t
LEFT JOIN customer_pseudonyms AS p ON t.customer_pseudonym = p.customer_pseudonym
LEFT JOIN consent_by_serial AS device ON t.serialNumber = device.serialNumber
LEFT JOIN consent_by_email  AS phone  ON coalesce(p.email, t.`user`) = phone.email
WHERE device.consenting IS DISTINCT FROM TRUE
   OR phone.consenting IS DISTINCT FROM TRUE
