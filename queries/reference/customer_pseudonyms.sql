-- customer_pseudonyms: each customer's stable pseudonymous id, the only customer reference the strict
-- machine_learning_curated table carries. A keyed SHA-256 of the customer's identity (key ||
-- customer_id, the normalised email): the same customer and key always give the same id, whatever
-- the spelling of the address, so rows can still be grouped per customer, but without the key
-- nobody can recompute it from a list of emails. The key is the session variable `pseudonym_key`,
-- set by the engine from --salt or STEDI_PSEUDONYM_KEY as a bound parameter; it is never stored in
-- a table or printed. Without a key (rubric mode) the id is NULL. sha2(x, 256) is Spark SQL's
-- spelling, which stedi-tui defines for DuckDB (its sha256(x)), so the emitted Glue jobs run this
-- file as it is; they provide getvariable('pseudonym_key') from their own key argument.
-- Reads: customer_records.
SELECT customer_id, sha2(getvariable('pseudonym_key') || customer_id, 256) AS customer_pseudonym
FROM (SELECT DISTINCT customer_id FROM customer_records) AS customers
