-- accelerometer_trusted (strict): phone readings taken while their owner consents.
-- Keeps: accelerometer_landing rows whose `user` is (under any spelling: lower(trim(`user`)) is the
-- customer_id) a strict customer_trusted customer and whose timestamp is at or after that
-- customer's consent (consent_by_email.consent_at: the latest record's shareWithResearchAsOfDate).
-- An exact copy of a reading (a re-sent file) is kept once.
-- drops: the user is no consenting customer (latest record), or the reading predates the consent
-- Reads: accelerometer_landing, consent_by_email, customer_trusted, erased_keys.
SELECT DISTINCT a.*
FROM accelerometer_landing AS a
JOIN consent_by_email AS k ON lower(trim(a.`user`)) = k.customer_id
WHERE k.consenting
  AND lower(trim(a.`user`)) IN (SELECT lower(trim(email)) FROM customer_trusted)
  AND a.`timestamp` >= k.consent_at
  AND lower(trim(a.`user`)) NOT IN (SELECT key FROM erased_keys)
