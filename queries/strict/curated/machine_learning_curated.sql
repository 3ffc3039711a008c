-- machine_learning_curated (strict): the training table, each Step Trainer reading paired with its
-- OWNER's phone readings of the same millisecond, and no personal column.
-- Keeps: step_trainer_trusted ⋈ the device's owner (consent_by_serial) ⋈ accelerometer_trusted on
-- user = the owner's email and timestamp = sensorReadingTime, so one customer's Step Trainer is never
-- paired with another customer's phone. Both inputs hold only consented readings taken after the
-- consent. The email is replaced by customer_pseudonym (a keyed hash, see
-- reference/customer_pseudonyms.sql): rows can be grouped per customer, not traced back to one.
-- drops: no reading of the owner's own phone in the same millisecond
-- Reads: step_trainer_trusted, consent_by_serial, accelerometer_trusted, customer_pseudonyms, erased_keys.
SELECT s.sensorReadingTime, s.serialNumber, s.distanceFromObject,
       p.customer_pseudonym, a.`timestamp`, a.x, a.y, a.z
FROM step_trainer_trusted AS s
JOIN consent_by_serial AS owner ON s.serialNumber = owner.serialNumber
JOIN accelerometer_trusted AS a
  ON a.`user` = owner.email
 AND a.`timestamp` = s.sensorReadingTime
JOIN customer_pseudonyms AS p ON p.email = owner.email
WHERE owner.email NOT IN (SELECT key FROM erased_keys)
