-- step_trainer_landing: one row per Step Trainer reading from DATA/step_trainer/landing/.
-- `serialNumber` identifies the device (and so its customer); `sensorReadingTime` is epoch ms.
CREATE TABLE step_trainer_landing (
    sensorReadingTime  BIGINT  NOT NULL,
    serialNumber       VARCHAR NOT NULL,
    distanceFromObject INTEGER
);
