-- customer_curated (strict): consenting customers with phone readings taken after their consent.
-- Keeps: strict customer_trusted customers (one latest record each) with at least one strict
-- accelerometer_trusted reading (matched by customer: lower(trim()) on both sides); customer columns only.
-- drops: no trusted accelerometer reading (none at all, or all before the consent)
-- Reads: customer_trusted, accelerometer_trusted, erased_keys.
SELECT c.*
FROM customer_trusted AS c
WHERE lower(trim(c.email)) IN (SELECT lower(trim(`user`)) FROM accelerometer_trusted)
  AND lower(trim(c.email)) NOT IN (SELECT key FROM erased_keys)
