-- step_trainer_trusted (strict): Step Trainer readings taken while their owner consents, of owners
-- who have phone data.
-- Keeps: step_trainer_landing rows whose device's owner (consent_by_serial: the customer of the
-- latest record carrying the serial number) consents by their own latest record and is a strict
-- customer_curated customer, taken at or after the owner's consent. An exact copy of a reading is
-- kept once.
-- drops: the device's owner is no curated consenting customer, or the reading predates the consent
-- Reads: step_trainer_landing, consent_by_serial, customer_curated, erased_keys.
SELECT DISTINCT s.*
FROM step_trainer_landing AS s
JOIN consent_by_serial AS owner ON s.serialNumber = owner.serialNumber
WHERE owner.consenting
  AND owner.customer_id IN (SELECT lower(trim(email)) FROM customer_curated)
  AND s.sensorReadingTime >= owner.consent_at
  AND s.serialNumber NOT IN (SELECT key FROM erased_keys)
  AND owner.customer_id NOT IN (SELECT key FROM erased_keys)
