-- revoked_consent: customers who gave research consent in some record but whose LATEST record (see
-- consent_by_email) no longer does: they withdrew it. The rubric stages still trust the earlier
-- record; strict stages honour the withdrawal. Used by `stedi-tui diff` to name that reason.
-- Reads: consent_by_email, customer_records.
SELECT customer_id
FROM consent_by_email
WHERE NOT consenting
  AND customer_id IN (SELECT customer_id FROM customer_records WHERE consent_at IS NOT NULL)
