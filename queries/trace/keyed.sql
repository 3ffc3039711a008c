-- trace keyed: every row of {table} with the customer and the device it names, whatever the mode
-- made it of: row_customer from `email` or `user` (trimmed and case-folded, as customer_id) or
-- the strict ML table's customer_pseudonym turned back into its customer; row_device from
-- serialNumber or device_pseudonym turned back into its serial number. {table} is the table with
-- every key column, NULL where it has none (as <table>_with_keys). The engine makes it the view
-- trace_keyed, table by table and mode by mode, for rows.sql and cross_pairs.sql.
-- Reads: customer_pseudonyms, device_pseudonyms.
SELECT coalesce(lower(trim(t.email)), lower(trim(t.`user`)), p.customer_id) AS row_customer,
       coalesce(d.serialNumber, t.serialNumber) AS row_device
FROM {table} AS t
LEFT JOIN customer_pseudonyms AS p ON t.customer_pseudonym = p.customer_pseudonym
LEFT JOIN device_pseudonyms AS d ON t.device_pseudonym = d.device_pseudonym
