-- id: orphan.step_trainer_landing
-- severity: warn
-- description: Step Trainer readings whose serialNumber belongs to no customer
SELECT s.*
FROM step_trainer_landing AS s
WHERE s.serialNumber NOT IN (SELECT serialNumber FROM customer_landing)
