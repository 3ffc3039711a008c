-- diff step_trainer_trusted: Step Trainer readings one mode keeps and the other does not, and why.
-- Reasons: revoked consent (the device owner's latest record withdrew it), pre-consent (taken
-- before the owner's consent), other (an exact duplicate, an owner whose phone readings all predate
-- the consent so strict mode does not curate them, a consent time of 0 or less).
WITH only_rubric AS (
    SELECT * FROM rubric.step_trainer_trusted EXCEPT ALL SELECT * FROM strict.step_trainer_trusted
),
only_strict AS (
    SELECT * FROM strict.step_trainer_trusted EXCEPT ALL SELECT * FROM rubric.step_trainer_trusted
),
differences AS (
    SELECT 'rubric' AS kept_by, * FROM only_rubric
    UNION ALL
    SELECT 'strict' AS kept_by, * FROM only_strict
)
SELECT d.kept_by,
       CASE WHEN owner.customer_id IN (SELECT customer_id FROM revoked_consent) THEN 'revoked consent'
            WHEN d.sensorReadingTime < owner.consent_at THEN 'pre-consent'
            ELSE 'other'
       END AS reason,
       count(*) AS rows
FROM differences AS d
LEFT JOIN consent_by_serial AS owner ON d.serialNumber = owner.serialNumber
GROUP BY ALL
