-- trace rows: how many rows of one table (trace_keyed) belong to the traced customer: by customer
-- (the row's email, user or customer pseudonym is theirs), by device (its serial number or device
-- pseudonym is one of trace_devices), and in all (either way; a customer record carries both, and
-- counts once).
-- Reads: trace_keyed, trace_customer, trace_devices.
WITH marked AS (
    SELECT coalesce(row_customer IN (SELECT customer_id FROM trace_customer), FALSE) AS by_customer,
           coalesce(row_device IN (SELECT serialNumber FROM trace_devices), FALSE) AS by_device
    FROM trace_keyed
)
SELECT count(*) FILTER (WHERE by_customer) AS by_customer,
       count(*) FILTER (WHERE by_device) AS by_device,
       count(*) FILTER (WHERE by_customer OR by_device) AS total
FROM marked
