-- id: invalid_consent.customer_landing
-- severity: warn
-- description: customer records whose shareWithResearchAsOfDate is set but is no consent: not a positive epoch-ms time, or dated after this run (not consent yet); consent fails closed
SELECT email, serialNumber, shareWithResearchAsOfDate, lastUpdateDate
FROM customer_records
WHERE shareWithResearchAsOfDate IS NOT NULL
  AND consent_at IS NULL
