-- trace customers: every customer (customer_id, the normalised email) with the name and email of
-- their latest record and whether they consent by it (consent_by_email), for the TUI's customer
-- picker and to tell a known customer from an unknown email. DuckDB only (`stedi-tui trace`).
-- Reads: customer_records, consent_by_email.
SELECT r.customer_id,
       max_by(r.customerName, coalesce(r.lastUpdateDate, -1)) AS customerName,
       max_by(r.email, coalesce(r.lastUpdateDate, -1)) AS email,
       count(*) AS records,
       any_value(c.consenting) AS consenting
FROM customer_records AS r
JOIN consent_by_email AS c ON c.customer_id = r.customer_id
GROUP BY r.customer_id
ORDER BY r.customer_id
