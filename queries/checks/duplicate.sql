-- id: duplicate.{table}
-- for_each: tables
-- severity: warn
-- description: rows of {table} that occur more than once (one row per duplicated row, with its copies)
-- Two steps because grouping millions of rows by every column is the most expensive thing the
-- checks do: first group by a hash of the whole row (one number per row, cheap to group), then
-- group only the rows whose hash occurs more than once by every column, which also throws out
-- hash collisions. {columns} is the table's column list, filled in by stedi-tui.
SELECT *, count(*) AS copies
FROM {table}
WHERE hash({columns}) IN (
    SELECT hash({columns}) FROM {table} GROUP BY 1 HAVING count(*) > 1
)
GROUP BY ALL
HAVING count(*) > 1
