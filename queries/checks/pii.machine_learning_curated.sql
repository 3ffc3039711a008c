-- id: pii.machine_learning_curated
-- severity: warn
-- description: personal columns (email/user, name, phone, birthday) present in the machine learning table
SELECT column_name, data_type
FROM information_schema.columns
WHERE table_name = 'machine_learning_curated'
  AND table_schema = current_schema()
  AND lower(column_name) IN ('email', 'user', 'customername', 'phone', 'birthday')
ORDER BY column_name
