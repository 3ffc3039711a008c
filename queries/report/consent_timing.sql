-- consent_timing: the trusted zone's readings by when they were taken relative to their owner's
-- research consent, for the evidence report's "consent at a glance" chart (`--format html`,
-- `--format markdown`). DuckDB only (a stedi-tui report, not a Glue job).
-- A phone reading's owner is its `user` (as a customer_id), a Step Trainer reading's the owner of
-- its device now (consent_by_serial); consent is the owner's latest record's (consent_by_email):
-- the pre_consent checks judge the same way, so bucket < 0 counts what they find.
-- The bucket -4 .. -1 is taken before consent (over 30 days, 7-30 days, 1-7 days, under a day before),
-- (a day is 86400000 ms, 7 days 604800000, 30 days 2592000000)
-- 1 .. 4 at or after it (under a day, 1-7 days, 7-30 days, over 30 days after), 0 the owner has no
-- consent by their latest record, or is unknown.
-- Reads: accelerometer_trusted, step_trainer_trusted, consent_by_email, consent_by_serial.
WITH readings AS (
    SELECT 'accelerometer_trusted' AS table_name, t.`timestamp` AS taken_at, c.consent_at
    FROM accelerometer_trusted AS t
    LEFT JOIN consent_by_email AS c ON lower(trim(t.`user`)) = c.customer_id
    UNION ALL
    SELECT 'step_trainer_trusted' AS table_name, t.sensorReadingTime AS taken_at, c.consent_at
    FROM step_trainer_trusted AS t
    LEFT JOIN consent_by_serial AS c ON t.serialNumber = c.serialNumber
),
offsets AS (
    SELECT table_name, consent_at, taken_at - consent_at AS after_ms FROM readings
)
SELECT table_name,
       CASE WHEN consent_at IS NULL THEN 0
            WHEN after_ms < -2592000000 THEN -4
            WHEN after_ms < -604800000 THEN -3
            WHEN after_ms < -86400000 THEN -2
            WHEN after_ms < 0 THEN -1
            WHEN after_ms < 86400000 THEN 1
            WHEN after_ms < 604800000 THEN 2
            WHEN after_ms < 2592000000 THEN 3
            ELSE 4
       END AS bucket,
       count(*) AS readings
FROM offsets
GROUP BY ALL
ORDER BY table_name, bucket
