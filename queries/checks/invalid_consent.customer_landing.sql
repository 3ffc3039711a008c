-- id: invalid_consent.customer_landing
-- severity: warn
-- description: customer records whose shareWithResearchAsOfDate is not a positive epoch-ms time; they count as no consent (consent fails closed)
SELECT email, serialNumber, shareWithResearchAsOfDate, lastUpdateDate
FROM customer_landing
WHERE shareWithResearchAsOfDate <= 0
