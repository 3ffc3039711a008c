-- customer_trusted (strict): the latest record of each customer whose latest record gives consent.
-- Keeps: for each email that consent_by_email marks consenting (its latest record, by lastUpdateDate,
-- has a positive shareWithResearchAsOfDate), that latest record only: a later record that withdraws
-- consent is honoured, and no customer appears twice. Among records of the same latest date the one
-- agreeing with consent_by_email wins, then the fields decide, so the choice is deterministic.
-- drops: latest record without research consent (never given or revoked), an older record, an erased customer
-- Reads: customer_landing, consent_by_email, erased_keys.
SELECT customerName, email, phone, birthDay, serialNumber, registrationDate, lastUpdateDate,
       shareWithResearchAsOfDate, shareWithPublicAsOfDate, shareWithFriendsAsOfDate
-- Spark SQL has no QUALIFY, so the ranking is a subquery and customer_landing's columns are named
-- again (the subquery adds `recency`). NULLS LAST is spelled out: ascending, Spark sorts NULL first.
FROM (
    SELECT c.*,
           row_number() OVER (
               PARTITION BY c.email
               ORDER BY c.lastUpdateDate DESC NULLS LAST,
                        (c.shareWithResearchAsOfDate = k.consent_at AND c.serialNumber = k.serialNumber) DESC NULLS LAST,
                        c.registrationDate DESC NULLS LAST, c.serialNumber NULLS LAST, c.customerName NULLS LAST,
                        c.phone NULLS LAST, c.birthDay NULLS LAST
           ) AS recency
    FROM customer_landing AS c
    JOIN consent_by_email AS k ON c.email = k.email
    WHERE k.consenting
      AND c.email NOT IN (SELECT key FROM erased_keys)
) AS latest
WHERE recency = 1
