-- id: duplicate.{table}
-- for_each: tables
-- severity: warn
-- description: rows of {table} that occur more than once (one row per duplicated row, with its copies)
-- Two steps because finding repeats among millions of rows is the most expensive thing the checks
-- do. First, the hashes of whole rows that occur more than once: one number per row, sorted, each
-- compared with the one before it. At 8 million rows that takes 0.8 s where grouping the hashes
-- took 1.4 s (a hash table of 8 million groups outgrows the CPU caches; a sort does not). Then
-- only the rows with such a hash are grouped by every column, which also throws out hash
-- collisions. {columns} is the table's column list, filled in by stedi-tui.
SELECT *, count(*) AS copies
FROM {table}
WHERE hash({columns}) IN (
    SELECT row_hash
    FROM (
        SELECT row_hash, lag(row_hash) OVER (ORDER BY row_hash) AS previous_hash
        FROM (SELECT hash({columns}) AS row_hash FROM {table}) AS hashed
    ) AS sorted
    WHERE row_hash = previous_hash
)
GROUP BY ALL
HAVING count(*) > 1
