-- customer_trusted: the customers who agreed to share their data for research.
-- Keeps: customer_landing records whose shareWithResearchAsOfDate is set (any record, as the
-- original Glue job did; strict mode also honours a later record that revokes consent, under any
-- spelling of the address: the checks judge by the customer, reference/customer_records.sql).
-- drops: no research consent (shareWithResearchAsOfDate is null), or an erased customer
-- Reads: customer_landing, erased_keys (the customers `stedi-tui forget` erased; empty by default).
SELECT *
FROM customer_landing
WHERE shareWithResearchAsOfDate IS NOT NULL
  AND lower(trim(email)) NOT IN (SELECT key FROM erased_keys)
