-- device_pseudonyms: each Step Trainer's pseudonymous id, which the strict machine_learning_curated
-- table carries instead of the serial number: a raw serial number joins customer_trusted (and any
-- customer list) and names the person. Keyed like customer_pseudonyms (same key), with the prefix
-- `serialNumber:` so a device's pseudonym never equals a customer's. NULL without a key.
-- Reads: customer_records.
SELECT serialNumber, sha2(getvariable('pseudonym_key') || 'serialNumber:' || serialNumber, 256) AS device_pseudonym
FROM (SELECT DISTINCT serialNumber FROM customer_records) AS devices
