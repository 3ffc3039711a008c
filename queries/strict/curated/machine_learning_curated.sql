-- machine_learning_curated (strict): the training table, each Step Trainer reading paired with its
-- OWNER's phone readings of the same millisecond, and no identifier of a person or a device.
-- Keeps: step_trainer_trusted ⋈ the device's owner (consent_by_serial) ⋈ accelerometer_trusted on
-- the phone's user being the owner (by customer_id) and timestamp = sensorReadingTime, so one
-- customer's Step Trainer is never paired with another customer's phone. Both inputs hold only
-- consented readings taken after the consent. The email is replaced by customer_pseudonym and the
-- serial number (which customer_trusted would turn back into a name) by device_pseudonym, keyed
-- hashes (reference/customer_pseudonyms.sql, device_pseudonyms.sql): rows can be grouped per
-- customer and per device, not traced back to either without the key. The readings themselves
-- (times and x, y, z) are those of the trusted zone: see README, "What strict mode protects".
-- drops: no reading of the owner's own phone in the same millisecond
-- Reads: step_trainer_trusted, consent_by_serial, accelerometer_trusted, customer_pseudonyms, device_pseudonyms, erased_keys.
SELECT s.sensorReadingTime, d.device_pseudonym, s.distanceFromObject,
       p.customer_pseudonym, a.`timestamp`, a.x, a.y, a.z
FROM step_trainer_trusted AS s
JOIN consent_by_serial AS owner ON s.serialNumber = owner.serialNumber
JOIN accelerometer_trusted AS a
  ON lower(trim(a.`user`)) = owner.customer_id
 AND a.`timestamp` = s.sensorReadingTime
JOIN customer_pseudonyms AS p ON p.customer_id = owner.customer_id
JOIN device_pseudonyms AS d ON d.serialNumber = s.serialNumber
WHERE owner.customer_id NOT IN (SELECT key FROM erased_keys)
