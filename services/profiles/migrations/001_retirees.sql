-- Read model: one row per retiree, updated in the same transaction as the retiree's events.
CREATE TABLE retirees (
    retiree_id      uuid PRIMARY KEY,
    unit            text NOT NULL,
    status          text NOT NULL,
    document_number text,
    approved_on     date,
    retirement_date date,
    category        text,
    version         integer NOT NULL
);
CREATE INDEX retirees_unit ON retirees (unit);
