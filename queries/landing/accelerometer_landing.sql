-- accelerometer_landing: one row per phone accelerometer reading from DATA/accelerometer/landing/.
-- `user` is the customer's email; `timestamp` is epoch milliseconds.
CREATE TABLE accelerometer_landing (
    "user"      VARCHAR NOT NULL,
    "timestamp" BIGINT  NOT NULL,
    x           DOUBLE,
    y           DOUBLE,
    z           DOUBLE
);
