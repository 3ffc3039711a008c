-- erased_keys: every value that names an erased customer (the right to erasure) in some table:
-- the email (customer `email`, accelerometer `user`), the serial number of each of their customer
-- records (Step Trainer readings) and their pseudonym (strict machine_learning_curated).
-- `erased_customers(email)` holds the emails of DATA/_erasure_list.json (`stedi-tui forget`); the
-- engine creates it, empty without a list, before these views. Every stage of both modes drops rows
-- whose email, user or serialNumber is a key here; the `erased.<table>` checks prove it.
-- No key is NULL (emails and serial numbers are NOT NULL), so `NOT IN (SELECT key ...)` is safe.
-- Reads: erased_customers, customer_landing, customer_pseudonyms.
SELECT email AS key FROM erased_customers
UNION
SELECT serialNumber FROM customer_landing WHERE email IN (SELECT email FROM erased_customers)
UNION
SELECT customer_pseudonym FROM customer_pseudonyms
WHERE email IN (SELECT email FROM erased_customers) AND customer_pseudonym IS NOT NULL
