-- customer_pseudonyms: each customer's stable pseudonymous id, the only customer reference the strict
-- machine_learning_curated table carries. A keyed SHA-256 of the email (key || email): the same email
-- and key always give the same id, so rows can still be grouped per customer, but without the key
-- nobody can recompute it from a list of emails. The key is the session variable `pseudonym_key`,
-- set by the engine from --salt or STEDI_PSEUDONYM_KEY as a bound parameter; it is never stored in
-- a table or printed. Without a key (rubric mode) the id is NULL. sha2(x, 256) is Spark SQL's
-- spelling, which stedi-tui defines for DuckDB (its sha256(x)), so the emitted Glue jobs run this
-- file as it is; they provide getvariable('pseudonym_key') from their own key argument.
-- Reads: customer_landing.
SELECT email, sha2(getvariable('pseudonym_key') || email, 256) AS customer_pseudonym
FROM (SELECT DISTINCT email FROM customer_landing) AS customers
