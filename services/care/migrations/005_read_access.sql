-- Who read care's facts about a person (the verified actor), like profiles' read-access log. A refused read is
-- in security_log (the router writes it); a successful one is here.
CREATE TABLE read_access (
    access_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    user_id    text NOT NULL,
    role       text NOT NULL,
    actor_unit text NOT NULL,
    query      text NOT NULL,
    retiree_id uuid NOT NULL
);
CREATE INDEX read_access_retiree ON read_access (retiree_id, at);
