-- id: cross_customer.machine_learning_curated
-- severity: warn
-- description: machine_learning_curated rows pairing one customer's Step Trainer with another customer's phone
-- The phone's user: `user` (rubric table) or customer_pseudonym turned back into the customer
-- (strict); the device: serialNumber or device_pseudonym. machine_learning_curated_with_keys has
-- all four columns (NULL where the table lacks one). Customers compare by customer_id.
SELECT t.*, device.customer_id AS device_owner_email
FROM machine_learning_curated_with_keys AS t
LEFT JOIN customer_pseudonyms AS p ON t.customer_pseudonym = p.customer_pseudonym
LEFT JOIN device_pseudonyms AS d ON t.device_pseudonym = d.device_pseudonym
JOIN consent_by_serial AS device ON coalesce(d.serialNumber, t.serialNumber) = device.serialNumber
WHERE device.customer_id IS DISTINCT FROM coalesce(p.customer_id, lower(trim(t.`user`)))
