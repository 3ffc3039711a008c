-- customer_landing: one row per customer record from DATA/customer/landing/.
-- Types follow the original Glue DDL; times are epoch milliseconds. NOT NULL marks the fields a
-- record cannot be used without: the keys that tie sensor readings to a customer.
-- validate: every record
-- Consent lives here, so every record is checked strictly before it loads: a consent time that is
-- not a whole number (a boolean, "yes", 1.5) rejects the record rather than counting as consent.
CREATE TABLE customer_landing (
    customerName              VARCHAR,
    email                     VARCHAR NOT NULL,
    phone                     VARCHAR,
    birthDay                  DATE,
    serialNumber              VARCHAR NOT NULL,
    registrationDate          BIGINT,
    lastUpdateDate            BIGINT,
    shareWithResearchAsOfDate BIGINT,
    shareWithPublicAsOfDate   BIGINT,
    shareWithFriendsAsOfDate  BIGINT
);
