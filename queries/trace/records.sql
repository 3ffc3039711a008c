-- trace records: the traced customer's records (trace_customer holds their customer_id), in time
-- In order: undated records first (they cannot be placed in time), then by lastUpdateDate, then by
-- registration. consent_at is the consent the record gives (customer_records: positive and not
-- in the future); decides marks the record whose consent counts, the one consent_by_email picks
-- (the latest), matched on its serial number and consent (the engine marks the first such record).
-- Reads: customer_records, consent_by_email, trace_customer.
SELECT r.customerName, r.email, r.serialNumber, r.registrationDate, r.lastUpdateDate,
       r.shareWithResearchAsOfDate, r.consent_at,
       (r.serialNumber = c.serialNumber AND r.consent_at IS NOT DISTINCT FROM c.consent_at) AS decides
FROM customer_records AS r
JOIN consent_by_email AS c ON c.customer_id = r.customer_id
WHERE r.customer_id IN (SELECT customer_id FROM trace_customer)
ORDER BY r.lastUpdateDate ASC NULLS FIRST, r.registrationDate ASC NULLS FIRST, r.serialNumber, r.email
