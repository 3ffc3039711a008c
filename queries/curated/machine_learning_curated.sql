-- machine_learning_curated: the training table for the step-detection model.
-- Keeps: every pair of a trusted Step Trainer reading and a trusted accelerometer reading taken in
-- the same millisecond (sensorReadingTime = timestamp), as the original Glue job joined them.
-- Known flaw, kept for fidelity and reported by the checks: the join ignores who owns each device,
-- so it can pair one customer's Step Trainer with another customer's phone, and it carries `user`.
-- drops: no reading of the other device in the same millisecond
-- Reads: step_trainer_trusted, accelerometer_trusted, erased_keys (both inputs already exclude
-- erased customers; said again here so every stage visibly does).
SELECT s.sensorReadingTime, s.serialNumber, s.distanceFromObject,
       a.`user`, a.`timestamp`, a.x, a.y, a.z
FROM step_trainer_trusted AS s
JOIN accelerometer_trusted AS a
  ON s.sensorReadingTime = a.`timestamp`
WHERE lower(trim(a.`user`)) NOT IN (SELECT key FROM erased_keys)
  AND s.serialNumber NOT IN (SELECT key FROM erased_keys)
