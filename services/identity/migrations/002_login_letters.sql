-- Retirees' login-code letters (登录码信): the secret's argon2id hash only (never in an event), the person and
-- their unit, when it ends, and failed tries (five end the letter). One live letter per person.
CREATE TABLE login_letters (
    letter_id   text PRIMARY KEY,
    retiree_id  uuid NOT NULL,
    unit        text NOT NULL,
    secret_hash text NOT NULL,
    issued_by   text NOT NULL,
    issued_at   timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    failures    integer NOT NULL DEFAULT 0
);
CREATE INDEX login_letters_person ON login_letters (retiree_id) WHERE revoked_at IS NULL;
