-- diff customer_trusted: customer records one mode keeps and the other does not, and why.
-- rubric.customer_trusted and strict.customer_trusted are the two modes' tables (`stedi-tui diff`).
-- Reasons: revoked consent (a later record withdrew it; the rubric keeps the earlier one),
-- other (an older record of a still-consenting customer, an exact duplicate record, a
-- shareWithResearchAsOfDate of 0 or less, which strict mode does not count as consent).
WITH only_rubric AS (
    SELECT * FROM rubric.customer_trusted EXCEPT ALL SELECT * FROM strict.customer_trusted
),
only_strict AS (
    SELECT * FROM strict.customer_trusted EXCEPT ALL SELECT * FROM rubric.customer_trusted
),
differences AS (
    SELECT 'rubric' AS kept_by, email FROM only_rubric
    UNION ALL
    SELECT 'strict' AS kept_by, email FROM only_strict
)
SELECT kept_by,
       CASE WHEN lower(trim(email)) IN (SELECT customer_id FROM revoked_consent) THEN 'revoked consent'
            ELSE 'other'
       END AS reason,
       count(*) AS rows
FROM differences
GROUP BY ALL
