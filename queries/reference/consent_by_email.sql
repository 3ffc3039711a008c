-- consent_by_email: who owns an email, and whether they consent to research, by their LATEST record.
-- A customer may have several records (an update, a revocation). The one with the largest
-- lastUpdateDate decides; on a tie the record WITHOUT consent wins, so consent fails closed, then
-- the LATER consent time (more readings count as before consent), then the smallest serial
-- number: the order is total, so the result never depends on the order rows were loaded in.
-- Consent counts only as a positive epoch-ms time: NULL, 0 or negative is no consent.
-- Used by the checks (and by strict stages) to judge every row independently of the stages.
-- Reads: customer_landing.
SELECT email, serialNumber, consent_at, consent_at IS NOT NULL AS consenting
FROM (
    SELECT email, serialNumber,
           CASE WHEN shareWithResearchAsOfDate > 0 THEN shareWithResearchAsOfDate END AS consent_at,
           row_number() OVER (
               PARTITION BY email
               ORDER BY lastUpdateDate DESC NULLS LAST,
                        CASE WHEN shareWithResearchAsOfDate > 0 THEN 1 ELSE 0 END ASC,
                        shareWithResearchAsOfDate DESC NULLS LAST,
                        serialNumber ASC
           ) AS recency
    FROM customer_landing
) AS latest
WHERE recency = 1
