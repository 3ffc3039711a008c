-- customer_rows: how many rows of {table} belong to the customers in forget_customers(email)
-- (`stedi-tui forget` counts them, in every table of both modes, before it adds the email to the
-- erasure list). A row belongs to a customer when it names them by email or user, by the serial
-- number of any of their customer records (Step Trainer readings), or by their pseudonym (strict
-- machine_learning_curated): the same keys as reference/erased_keys.sql.
WITH keys AS (
    SELECT email AS key FROM forget_customers
    UNION
    SELECT serialNumber FROM customer_landing WHERE email IN (SELECT email FROM forget_customers)
    UNION
    SELECT customer_pseudonym FROM customer_pseudonyms
    WHERE email IN (SELECT email FROM forget_customers) AND customer_pseudonym IS NOT NULL
)
SELECT count(*)
FROM {table} AS t
WHERE list_has_any([*COLUMNS('^(email|user|serialNumber|customer_pseudonym)$')], (SELECT list(key) FROM keys))
