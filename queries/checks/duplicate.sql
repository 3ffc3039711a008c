-- id: duplicate.{table}
-- for_each: tables
-- severity: warn
-- description: rows of {table} that occur more than once (one row per duplicated row, with its copies)
SELECT *, count(*) AS copies
FROM {table}
GROUP BY ALL
HAVING count(*) > 1
