-- erased_keys: every value that names an erased customer (the right to erasure) in some table:
-- their identity (customer_id, the normalised email: compare lower(trim(email)) or
-- lower(trim(`user`)) with it), the serial number of each of their customer records (Step Trainer
-- readings, compared as written) and their customer and device pseudonyms (strict
-- machine_learning_curated). `erased_customers(email)` holds the emails of DATA/_erasure_list.json
-- (`stedi-tui forget`), any spelling; the engine creates it, empty without a list, before these
-- views. Every stage of both modes drops rows whose customer or device is a key here; the
-- `erased.<table>` checks prove it.
-- No key is NULL (emails and serial numbers are NOT NULL), so `NOT IN (SELECT key ...)` is safe.
-- Reads: erased_customers, customer_records, customer_pseudonyms, device_pseudonyms.
WITH erased AS (
    SELECT lower(trim(email)) AS customer_id FROM erased_customers
),
devices AS (
    SELECT serialNumber FROM customer_records WHERE customer_id IN (SELECT customer_id FROM erased)
)
SELECT customer_id AS key FROM erased
UNION
SELECT serialNumber FROM devices
UNION
SELECT customer_pseudonym FROM customer_pseudonyms
WHERE customer_id IN (SELECT customer_id FROM erased) AND customer_pseudonym IS NOT NULL
UNION
SELECT device_pseudonym FROM device_pseudonyms
WHERE serialNumber IN (SELECT serialNumber FROM devices) AND device_pseudonym IS NOT NULL
