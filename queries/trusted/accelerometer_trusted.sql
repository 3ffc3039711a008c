-- accelerometer_trusted: phone readings of consenting customers only.
-- Keeps: accelerometer_landing rows whose `user` is the email of a customer_trusted customer,
-- compared byte for byte as the original job did (the consent_leak checks compare by customer).
-- A semi-join (IN), not a JOIN, so a customer with two trusted records cannot double a reading;
-- accelerometer columns only, so no customer field leaks into this zone.
-- drops: the reading's user is no consenting customer, or an erased one
-- Reads: accelerometer_landing, customer_trusted, erased_keys.
SELECT a.*
FROM accelerometer_landing AS a
WHERE a.`user` IN (SELECT email FROM customer_trusted)
  AND lower(trim(a.`user`)) NOT IN (SELECT key FROM erased_keys)
