-- diff accelerometer_trusted: phone readings one mode keeps and the other does not, and why.
-- Reasons: revoked consent (the user's latest record withdrew it), pre-consent (taken before the
-- user's consent), other (an exact duplicate reading, a consent time of 0 or less).
WITH only_rubric AS (
    SELECT * FROM rubric.accelerometer_trusted EXCEPT ALL SELECT * FROM strict.accelerometer_trusted
),
only_strict AS (
    SELECT * FROM strict.accelerometer_trusted EXCEPT ALL SELECT * FROM rubric.accelerometer_trusted
),
differences AS (
    SELECT 'rubric' AS kept_by, * FROM only_rubric
    UNION ALL
    SELECT 'strict' AS kept_by, * FROM only_strict
)
SELECT d.kept_by,
       CASE WHEN lower(trim(d."user")) IN (SELECT customer_id FROM revoked_consent) THEN 'revoked consent'
            WHEN d."timestamp" < k.consent_at THEN 'pre-consent'
            ELSE 'other'
       END AS reason,
       count(*) AS rows
FROM differences AS d
LEFT JOIN consent_by_email AS k ON lower(trim(d."user")) = k.customer_id
GROUP BY ALL
