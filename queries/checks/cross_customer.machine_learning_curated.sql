-- id: cross_customer.machine_learning_curated
-- severity: warn
-- description: machine_learning_curated rows pairing one customer's Step Trainer with another customer's phone
-- The phone's user: `user` (rubric table) or customer_pseudonym turned back into the email (strict).
WITH ml AS (
    SELECT *, COLUMNS('^(user|customer_pseudonym)$') AS phone_key
    FROM machine_learning_curated
)
SELECT t.* EXCLUDE (phone_key), device.email AS device_owner_email
FROM ml AS t
LEFT JOIN customer_pseudonyms AS p ON t.phone_key = p.customer_pseudonym
JOIN consent_by_serial AS device ON t.serialNumber = device.serialNumber
WHERE device.email IS DISTINCT FROM coalesce(p.email, t.phone_key)
