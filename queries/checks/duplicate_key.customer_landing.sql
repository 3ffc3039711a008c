-- id: duplicate_key.customer_landing
-- severity: warn
-- description: emails or serial numbers shared by more than one customer record
SELECT 'email' AS key_kind, email, NULL AS serialNumber, count(*) AS records
FROM customer_landing
GROUP BY email
HAVING count(*) > 1
UNION ALL
SELECT 'serialNumber' AS key_kind, NULL AS email, serialNumber, count(*) AS records
FROM customer_landing
GROUP BY serialNumber
HAVING count(*) > 1
