-- id: consent_leak.customer_curated
-- severity: error
-- description: customer_curated rows of a customer whose latest record has no research consent, or of no known customer
SELECT t.*
FROM customer_curated AS t
LEFT JOIN consent_by_email AS c ON t.email = c.email
WHERE c.consenting IS DISTINCT FROM TRUE
