-- id: cross_customer.machine_learning_curated
-- severity: warn
-- description: machine_learning_curated rows pairing one customer's Step Trainer with another customer's phone
-- The phone's user: `user` (rubric table) or customer_pseudonym turned back into the email (strict);
-- machine_learning_curated_with_keys has both columns (NULL where the table lacks one).
SELECT t.*, device.email AS device_owner_email
FROM machine_learning_curated_with_keys AS t
LEFT JOIN customer_pseudonyms AS p ON t.customer_pseudonym = p.customer_pseudonym
JOIN consent_by_serial AS device ON t.serialNumber = device.serialNumber
WHERE device.email IS DISTINCT FROM coalesce(p.email, t.`user`)
