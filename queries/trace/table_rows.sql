-- trace table rows: the traced customer's rows of {table} (a <table>_with_keys view, every key
-- column there, NULL where the table has none), as the TUI opens them from a trace. A row is
-- theirs when it names them, by `email` or `user` (trimmed and case-folded, compared with
-- {customer_id}) or by their customer pseudonym, or names one of their devices {devices} (the
-- serial numbers of their records), by serialNumber or by its device pseudonym: the keys that
-- keyed.sql and rows.sql count by.
-- Reads: customer_pseudonyms, device_pseudonyms.
SELECT t.*
FROM {table} AS t
WHERE lower(trim(coalesce(t.email, t.`user`))) = {customer_id}
   OR t.serialNumber IN ({devices})
   OR t.customer_pseudonym IN (SELECT customer_pseudonym FROM customer_pseudonyms WHERE customer_id = {customer_id})
   OR t.device_pseudonym IN (SELECT device_pseudonym FROM device_pseudonyms WHERE serialNumber IN ({devices}))
