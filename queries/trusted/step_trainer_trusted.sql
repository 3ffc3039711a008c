-- step_trainer_trusted: Step Trainer readings of consenting customers who have phone data.
-- Keeps: step_trainer_landing rows whose serialNumber belongs to a customer_curated customer.
-- Semi-join for the same reason as accelerometer_trusted: no fan-out, step trainer columns only.
-- drops: the device belongs to no curated customer, or to an erased one
-- Reads: step_trainer_landing, customer_curated, erased_keys.
SELECT s.*
FROM step_trainer_landing AS s
WHERE s.serialNumber IN (SELECT serialNumber FROM customer_curated)
  AND s.serialNumber NOT IN (SELECT key FROM erased_keys)
