-- trace devices: the Step Trainer serial numbers of the traced customer: every serial number any
-- of their records lists (a device they once registered counts, even if passed on since).
-- Reads: customer_records, trace_customer.
SELECT DISTINCT serialNumber
FROM customer_records
WHERE customer_id IN (SELECT customer_id FROM trace_customer)
