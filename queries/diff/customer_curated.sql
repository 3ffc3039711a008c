-- diff customer_curated: customer records one mode keeps and the other does not, and why.
-- Reasons: revoked consent (a later record withdrew it), pre-consent (the customer's phone readings
-- all predate their consent, so strict mode finds no trusted reading), other (an older or duplicate
-- record, a consent time of 0 or less).
WITH only_rubric AS (
    SELECT * FROM rubric.customer_curated EXCEPT ALL SELECT * FROM strict.customer_curated
),
only_strict AS (
    SELECT * FROM strict.customer_curated EXCEPT ALL SELECT * FROM rubric.customer_curated
),
differences AS (
    SELECT 'rubric' AS kept_by, email FROM only_rubric
    UNION ALL
    SELECT 'strict' AS kept_by, email FROM only_strict
)
SELECT d.kept_by,
       CASE WHEN lower(trim(d.email)) IN (SELECT customer_id FROM revoked_consent) THEN 'revoked consent'
            WHEN k.consenting
             AND lower(trim(d.email)) IN (SELECT lower(trim("user")) FROM rubric.accelerometer_trusted)
             AND lower(trim(d.email)) NOT IN (SELECT lower(trim("user")) FROM strict.accelerometer_trusted) THEN 'pre-consent'
            ELSE 'other'
       END AS reason,
       count(*) AS rows
FROM differences AS d
LEFT JOIN consent_by_email AS k ON lower(trim(d.email)) = k.customer_id
GROUP BY ALL
