-- customer_rows: how many rows of {table} belong to the customers in forget_customers(email)
-- (`stedi-tui forget` counts them, in every table of both modes, before it adds the email to the
-- erasure list). A row belongs to a customer when it names them by email or user (any spelling:
-- compared as customer_id, trimmed and case-folded), by the serial number of any of their
-- customer records (Step Trainer readings), or by their customer or device pseudonym (strict
-- machine_learning_curated): the same keys as reference/erased_keys.sql. Every value is compared
-- trimmed and case-folded (a serial number differing only in case counts too: this is a count
-- for the user, not a filter).
WITH erased AS (
    SELECT lower(trim(email)) AS customer_id FROM forget_customers
),
devices AS (
    SELECT serialNumber FROM customer_records WHERE customer_id IN (SELECT customer_id FROM erased)
),
keys AS (
    SELECT customer_id AS key FROM erased
    UNION
    SELECT lower(trim(serialNumber)) FROM devices
    UNION
    SELECT customer_pseudonym FROM customer_pseudonyms
    WHERE customer_id IN (SELECT customer_id FROM erased) AND customer_pseudonym IS NOT NULL
    UNION
    SELECT device_pseudonym FROM device_pseudonyms
    WHERE serialNumber IN (SELECT serialNumber FROM devices) AND device_pseudonym IS NOT NULL
)
SELECT count(*)
FROM {table} AS t
WHERE list_has_any(
    list_transform([*COLUMNS('^(email|user|serialNumber|customer_pseudonym|device_pseudonym)$')], lambda v: lower(trim(v))),
    (SELECT list(key) FROM keys))
