-- customer_records: every customer_landing record with the customer it belongs to and the consent
-- it gives, the one place where both are defined.
-- A customer is a person, not a string: their identity, customer_id, is their email trimmed and
-- case-folded, so `Bob@X.COM`, `bob@x.com` and ` bob@x.com ` are one customer. Consent, device
-- ownership, the strict stages, the checks, erasure and the trace all decide on customer_id; a
-- reading's `user` is normalised the same way, lower(trim(`user`)), wherever it is compared.
-- The column consent_at is the research consent this record gives, as a positive epoch-ms time that has come:
-- NULL, 0 or negative is no consent, and so is a date later than the run's time (as_of, one row
-- made by the engine or the Glue job): a consent dated in the future is not consent yet.
-- Reads: customer_landing, as_of.
SELECT c.*,
       lower(trim(c.email)) AS customer_id,
       CASE WHEN c.shareWithResearchAsOfDate > 0 AND c.shareWithResearchAsOfDate <= clock.epoch_ms
            THEN c.shareWithResearchAsOfDate END AS consent_at
FROM customer_landing AS c
CROSS JOIN as_of AS clock
