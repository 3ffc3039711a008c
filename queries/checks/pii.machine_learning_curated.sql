-- id: pii.machine_learning_curated
-- severity: warn
-- description: personal columns (email/user, name, phone, birthday) present in the machine learning table
-- zone_columns(table_name, column_name, data_type): every pipeline table's columns, provided by
-- stedi-tui and by the emitted Spark jobs alike (Spark has no information_schema).
SELECT column_name, data_type
FROM zone_columns
WHERE table_name = 'machine_learning_curated'
  AND lower(column_name) IN ('email', 'user', 'customername', 'phone', 'birthday')
ORDER BY column_name
