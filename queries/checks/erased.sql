-- id: erased.{table}
-- for_each: customer_trusted, accelerometer_trusted, step_trainer_trusted, customer_curated, machine_learning_curated
-- severity: error
-- description: {table} rows of a customer on the erasure list (`stedi-tui forget`): their email or user (any spelling), device serial number or pseudonyms
-- Zone tables only: the landing tables are the raw input, kept untouched by design (erasure is
-- enforced by every stage), so they still hold an erased customer's records.
-- Each table names its customer by whichever of these columns it has (every zone table has
-- serialNumber or device_pseudonym); {table}_with_keys is the table plus, as NULL, the ones it lacks.
SELECT t.*
FROM {table}_with_keys AS t
WHERE lower(trim(t.email)) IN (SELECT key FROM erased_keys)
   OR lower(trim(t.`user`)) IN (SELECT key FROM erased_keys)
   OR t.serialNumber IN (SELECT key FROM erased_keys)
   OR t.customer_pseudonym IN (SELECT key FROM erased_keys)
   OR t.device_pseudonym IN (SELECT key FROM erased_keys)
