-- consent_by_serial: who owns a Step Trainer serial number, and whether they consent, by the
-- LATEST customer record carrying that serial (same rule and tie-break as consent_by_email).
-- Reads: customer_landing.
SELECT serialNumber, email, consent_at, consent_at IS NOT NULL AS consenting
FROM (
    SELECT serialNumber, email,
           CASE WHEN shareWithResearchAsOfDate > 0 THEN shareWithResearchAsOfDate END AS consent_at,
           row_number() OVER (
               PARTITION BY serialNumber
               ORDER BY lastUpdateDate DESC NULLS LAST,
                        CASE WHEN shareWithResearchAsOfDate > 0 THEN 1 ELSE 0 END ASC,
                        shareWithResearchAsOfDate DESC NULLS LAST,
                        email ASC
           ) AS recency
    FROM customer_landing
) AS latest
WHERE recency = 1
