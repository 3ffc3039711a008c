-- customer_landing: one row per customer record from DATA/customer/landing/.
-- Types follow the original Glue DDL; times are epoch milliseconds. NOT NULL marks the fields a
-- record cannot be used without: the keys that tie sensor readings to a customer.
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
