-- trace cross pairs: in one mode's machine_learning_curated (trace_keyed), the rows pairing the
-- traced customer's Step Trainer (one of trace_devices) with another customer's phone, and the
-- rows pairing their phone with a device that is not theirs: what cross_customer finds, for them.
-- Reads: trace_keyed, trace_customer, trace_devices.
SELECT count(*) FILTER (WHERE row_device IN (SELECT serialNumber FROM trace_devices)
                          AND row_customer NOT IN (SELECT customer_id FROM trace_customer)) AS device_with_other_phone,
       count(*) FILTER (WHERE row_customer IN (SELECT customer_id FROM trace_customer)
                          AND row_device NOT IN (SELECT serialNumber FROM trace_devices)) AS phone_with_other_device
FROM trace_keyed
