-- consent_by_serial: who owns a Step Trainer serial number now, and whether THEY consent.
-- The owner is the customer of the latest record that lists the serial number (a device passed on
-- belongs to whoever registered it last; on a tie the record without consent wins, then the
-- smallest customer_id). Consent is the owner's, by their own latest record (consent_by_email),
-- not by the record that lists the device: a customer whose latest record (with a new device)
-- revokes consent has revoked it for their old device's readings too.
-- Reads: customer_records, consent_by_email.
SELECT device.serialNumber, device.customer_id, owner.consent_at, owner.consenting
FROM (
    SELECT serialNumber, customer_id,
           row_number() OVER (
               PARTITION BY serialNumber
               ORDER BY CASE WHEN lastUpdateDate IS NULL AND consent_at IS NULL THEN 0 ELSE 1 END ASC,
                        lastUpdateDate DESC NULLS LAST,
                        CASE WHEN consent_at IS NOT NULL THEN 1 ELSE 0 END ASC,
                        customer_id ASC
           ) AS recency
    FROM customer_records
) AS device
JOIN consent_by_email AS owner ON owner.customer_id = device.customer_id
WHERE device.recency = 1
