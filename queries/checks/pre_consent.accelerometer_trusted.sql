-- id: pre_consent.accelerometer_trusted
-- severity: warn
-- description: accelerometer_trusted readings timestamped before their customer's shareWithResearchAsOfDate
SELECT t.*, c.consent_at
FROM accelerometer_trusted AS t
JOIN consent_by_email AS c ON lower(trim(t.`user`)) = c.customer_id
WHERE t.`timestamp` < c.consent_at
