-- id: duplicate_key.customer_landing
-- severity: warn
-- description: customers (by normalised email: trimmed, case-folded) or serial numbers with more than one customer record; spellings counts the variants of one address
SELECT 'email' AS key_kind, customer_id AS email, NULL AS serialNumber, count(*) AS records,
       count(DISTINCT email) AS spellings
FROM customer_records
GROUP BY customer_id
HAVING count(*) > 1
UNION ALL
SELECT 'serialNumber' AS key_kind, NULL AS email, serialNumber, count(*) AS records, 1 AS spellings
FROM customer_records
GROUP BY serialNumber
HAVING count(*) > 1
