-- id: consent_leak.step_trainer_trusted
-- severity: error
-- description: step_trainer_trusted readings whose device's owner has no research consent by the owner's latest record, or is unknown
-- consent_by_serial judges a device by its owner now, not by the record that lists it.
SELECT t.*
FROM step_trainer_trusted AS t
LEFT JOIN consent_by_serial AS c ON t.serialNumber = c.serialNumber
WHERE c.consenting IS DISTINCT FROM TRUE
