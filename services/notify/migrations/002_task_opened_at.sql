-- When a care task opened (the digest lists the tasks opened since the last one); NULL for rows projected
-- before this column existed.
ALTER TABLE care_tasks ADD COLUMN opened_at timestamptz;
CREATE INDEX care_tasks_opened ON care_tasks (unit, opened_at) WHERE NOT closed;
