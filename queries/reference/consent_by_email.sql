-- consent_by_email: each customer's research consent, decided by their LATEST record.
-- One row per customer_id (the normalised email, see customer_records): the records of every
-- spelling of an address compete, so a later `bob@x.com` revokes what `Bob@X.COM` gave.
-- The latest record has the largest lastUpdateDate. A record without one cannot be placed in time
-- and fails closed: an undated record WITHOUT consent decides (it may be the newest), an undated
-- record with consent never wins over a dated one. On a tie the record without consent wins, then
-- the later consent time (more readings count as before consent), then the smallest serial number:
-- the order is total, so the result never depends on the order rows were loaded in.
-- consent_at is customer_records': positive, and not later than the run's time.
-- Used by the checks (and by strict stages) to judge every row independently of the stages.
-- Reads: customer_records.
SELECT customer_id, serialNumber, consent_at, consent_at IS NOT NULL AS consenting
FROM (
    SELECT customer_id, serialNumber, consent_at,
           row_number() OVER (
               PARTITION BY customer_id
               ORDER BY CASE WHEN lastUpdateDate IS NULL AND consent_at IS NULL THEN 0 ELSE 1 END ASC,
                        lastUpdateDate DESC NULLS LAST,
                        CASE WHEN consent_at IS NOT NULL THEN 1 ELSE 0 END ASC,
                        consent_at DESC NULLS LAST,
                        serialNumber ASC
           ) AS recency
    FROM customer_records
) AS latest
WHERE recency = 1
