-- customer_trusted (strict): the latest record of each customer whose latest record gives consent.
-- Keeps: for each customer that consent_by_email marks consenting (their latest record, by
-- lastUpdateDate, has a positive shareWithResearchAsOfDate that has come), only that latest
-- record. A later record that withdraws consent is honoured, under any spelling of the address (a
-- customer is customer_id, the normalised email), and no customer appears twice. Among records of
-- the same latest date the one agreeing with consent_by_email wins, then the fields decide, so the
-- choice is deterministic.
-- drops: latest record without research consent (never given, revoked or dated in the future), an older record, an erased customer
-- Reads: customer_records, consent_by_email, erased_keys.
SELECT customerName, email, phone, birthDay, serialNumber, registrationDate, lastUpdateDate,
       shareWithResearchAsOfDate, shareWithPublicAsOfDate, shareWithFriendsAsOfDate
-- Spark SQL has no QUALIFY, so the ranking is a subquery and customer_landing's columns are named
-- again (the subquery adds `recency`). NULLS LAST is spelled out: ascending, Spark sorts NULL first.
FROM (
    SELECT c.*,
           row_number() OVER (
               PARTITION BY c.customer_id
               ORDER BY CASE WHEN c.lastUpdateDate IS NULL AND c.consent_at IS NULL THEN 0 ELSE 1 END ASC,
                        c.lastUpdateDate DESC NULLS LAST,
                        (c.consent_at = k.consent_at AND c.serialNumber = k.serialNumber) DESC NULLS LAST,
                        c.registrationDate DESC NULLS LAST, c.serialNumber NULLS LAST, c.customerName NULLS LAST,
                        c.phone NULLS LAST, c.birthDay NULLS LAST, c.email NULLS LAST
           ) AS recency
    FROM customer_records AS c
    JOIN consent_by_email AS k ON c.customer_id = k.customer_id
    WHERE k.consenting
      AND c.customer_id NOT IN (SELECT key FROM erased_keys)
) AS latest
WHERE recency = 1
