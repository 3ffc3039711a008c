-- trace readings: the traced customer's readings relative to their research consent (consent_at of
-- their latest record, consent_by_email): taken before it, at or after it, or without consent
-- (their latest record gives none), in the landing tables and in both modes' trusted tables
-- (schemas rubric and strict, as `stedi-tui diff` makes them). Phone readings by `user`,
-- Step Trainer readings by the serial numbers of their records (trace_devices).
-- Reads: accelerometer_landing, step_trainer_landing, rubric/strict accelerometer_trusted and
-- step_trainer_trusted, consent_by_email, trace_customer, trace_devices.
WITH me AS (
    SELECT consent_at FROM consent_by_email WHERE customer_id IN (SELECT customer_id FROM trace_customer)
),
phone AS (
    SELECT 'accelerometer_landing' AS table_name, `timestamp` AS taken_at, `user` AS who FROM accelerometer_landing
    UNION ALL SELECT 'rubric.accelerometer_trusted', `timestamp`, `user` FROM rubric.accelerometer_trusted
    UNION ALL SELECT 'strict.accelerometer_trusted', `timestamp`, `user` FROM strict.accelerometer_trusted
),
device AS (
    SELECT 'step_trainer_landing' AS table_name, sensorReadingTime AS taken_at, serialNumber FROM step_trainer_landing
    UNION ALL SELECT 'rubric.step_trainer_trusted', sensorReadingTime, serialNumber FROM rubric.step_trainer_trusted
    UNION ALL SELECT 'strict.step_trainer_trusted', sensorReadingTime, serialNumber FROM strict.step_trainer_trusted
),
theirs AS (
    SELECT table_name, taken_at FROM phone WHERE lower(trim(who)) IN (SELECT customer_id FROM trace_customer)
    UNION ALL
    SELECT table_name, taken_at FROM device WHERE serialNumber IN (SELECT serialNumber FROM trace_devices)
)
SELECT t.table_name,
       count(*) FILTER (WHERE t.taken_at < me.consent_at) AS before_consent,
       count(*) FILTER (WHERE t.taken_at >= me.consent_at) AS after_consent,
       count(*) FILTER (WHERE me.consent_at IS NULL) AS without_consent
FROM theirs AS t
CROSS JOIN me
GROUP BY t.table_name
