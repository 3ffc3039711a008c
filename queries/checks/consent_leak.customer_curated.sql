-- id: consent_leak.customer_curated
-- severity: error
-- description: customer_curated rows of a customer (any spelling of the address) whose latest record has no research consent, or of no known customer
SELECT t.*
FROM customer_curated AS t
LEFT JOIN consent_by_email AS c ON lower(trim(t.email)) = c.customer_id
WHERE c.consenting IS DISTINCT FROM TRUE
