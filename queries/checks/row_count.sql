-- id: row_count.{table}
-- for_each: expected
-- severity: error
-- description: {table} has the row count given in the --expect file
SELECT '{table}' AS table_name, e.expected_rows, (SELECT count(*) FROM {table}) AS actual_rows
FROM expected_row_counts AS e
WHERE e.table_name = '{table}'
  AND e.expected_rows <> (SELECT count(*) FROM {table})
