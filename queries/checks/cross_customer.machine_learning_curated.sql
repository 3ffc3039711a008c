-- id: cross_customer.machine_learning_curated
-- severity: warn
-- description: machine_learning_curated rows pairing one customer's Step Trainer with another customer's phone
SELECT t.*, device.email AS device_owner_email
FROM machine_learning_curated AS t
JOIN consent_by_serial AS device ON t.serialNumber = device.serialNumber
WHERE device.email IS DISTINCT FROM t."user"
