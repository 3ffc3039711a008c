-- accelerometer_trusted (strict): phone readings taken while their owner consents.
-- Keeps: accelerometer_landing rows whose `user` is a strict customer_trusted customer and whose
-- timestamp is at or after that customer's consent (consent_by_email.consent_at: the latest
-- record's shareWithResearchAsOfDate). An exact copy of a reading (a re-sent file) is kept once.
-- drops: the user is no consenting customer (latest record), or the reading predates the consent
-- Reads: accelerometer_landing, consent_by_email, customer_trusted, erased_keys.
SELECT DISTINCT a.*
FROM accelerometer_landing AS a
JOIN consent_by_email AS k ON a.`user` = k.email
WHERE a.`user` IN (SELECT email FROM customer_trusted)
  AND a.`timestamp` >= k.consent_at
  AND a.`user` NOT IN (SELECT key FROM erased_keys)
