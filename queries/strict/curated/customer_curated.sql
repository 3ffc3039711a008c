-- customer_curated (strict): consenting customers with phone readings taken after their consent.
-- Keeps: strict customer_trusted customers (one latest record each) with at least one strict
-- accelerometer_trusted reading; customer columns only.
-- drops: no trusted accelerometer reading (none at all, or all before the consent)
-- Reads: customer_trusted, accelerometer_trusted, erased_keys.
SELECT c.*
FROM customer_trusted AS c
WHERE c.email IN (SELECT `user` FROM accelerometer_trusted)
  AND c.email NOT IN (SELECT key FROM erased_keys)
