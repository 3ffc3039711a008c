-- diff machine_learning_curated: training rows one mode keeps and the other does not, and why.
-- The rubric table names the phone's user by email and the device by serial number, the strict
-- one by their pseudonyms: both are compared as (reading columns, serial number, the phone user's
-- customer_id), the pseudonyms turned back with customer_pseudonyms and device_pseudonyms (same
-- key, within this run).
-- Reasons, first match wins: revoked consent (the device owner or the phone user withdrew it),
-- cross-customer (one customer's Step Trainer paired with another customer's phone), pre-consent
-- (a reading taken before its owner's consent), other (duplicates, a consent time of 0 or less).
WITH rubric_rows AS (
    SELECT sensorReadingTime, serialNumber, distanceFromObject, lower(trim("user")) AS customer_id, "timestamp", x, y, z
    FROM rubric.machine_learning_curated
),
strict_rows AS (
    SELECT t.sensorReadingTime, d.serialNumber, t.distanceFromObject, p.customer_id, t."timestamp", t.x, t.y, t.z
    FROM strict.machine_learning_curated AS t
    LEFT JOIN customer_pseudonyms AS p ON t.customer_pseudonym = p.customer_pseudonym
    LEFT JOIN device_pseudonyms AS d ON t.device_pseudonym = d.device_pseudonym
),
differences AS (
    SELECT 'rubric' AS kept_by, * FROM (SELECT * FROM rubric_rows EXCEPT ALL SELECT * FROM strict_rows)
    UNION ALL
    SELECT 'strict' AS kept_by, * FROM (SELECT * FROM strict_rows EXCEPT ALL SELECT * FROM rubric_rows)
)
SELECT d.kept_by,
       CASE WHEN device.customer_id IN (SELECT customer_id FROM revoked_consent)
              OR d.customer_id IN (SELECT customer_id FROM revoked_consent) THEN 'revoked consent'
            WHEN device.customer_id IS DISTINCT FROM d.customer_id THEN 'cross-customer'
            WHEN d.sensorReadingTime < device.consent_at OR d."timestamp" < phone.consent_at THEN 'pre-consent'
            ELSE 'other'
       END AS reason,
       count(*) AS rows
FROM differences AS d
LEFT JOIN consent_by_serial AS device ON d.serialNumber = device.serialNumber
LEFT JOIN consent_by_email  AS phone  ON d.customer_id = phone.customer_id
GROUP BY ALL
