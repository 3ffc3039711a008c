-- id: pre_consent.step_trainer_trusted
-- severity: warn
-- description: step_trainer_trusted readings taken before their device owner's shareWithResearchAsOfDate
SELECT t.*, c.consent_at
FROM step_trainer_trusted AS t
JOIN consent_by_serial AS c ON t.serialNumber = c.serialNumber
WHERE t.sensorReadingTime < c.consent_at
