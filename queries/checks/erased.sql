-- id: erased.{table}
-- for_each: customer_trusted, accelerometer_trusted, step_trainer_trusted, customer_curated, machine_learning_curated
-- severity: error
-- description: {table} rows of a customer on the erasure list (`stedi-tui forget`): their email, user, device serial number or pseudonym
-- Zone tables only: the landing tables are the raw input, kept untouched by design (erasure is
-- enforced by every stage), so they still hold an erased customer's records.
-- Each table names its customer by whichever of these columns it has (every zone table has
-- serialNumber); {table}_with_keys is the table plus, as NULL, the ones it lacks.
SELECT t.*
FROM {table}_with_keys AS t
WHERE t.email IN (SELECT key FROM erased_keys)
   OR t.`user` IN (SELECT key FROM erased_keys)
   OR t.serialNumber IN (SELECT key FROM erased_keys)
   OR t.customer_pseudonym IN (SELECT key FROM erased_keys)
