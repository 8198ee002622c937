-- The task board: one row per care task, for the morning lists, the scores and the death fan-out.
CREATE TABLE tasks (
    task_id         uuid PRIMARY KEY,
    dedupe_key      text NOT NULL UNIQUE,   -- one task per (cause, kind): a duplicated cause never opens two
    kind            text NOT NULL,
    retiree_id      uuid NOT NULL,
    unit            text NOT NULL,
    assignee        text,
    cause           text NOT NULL,
    cause_event_id  uuid,
    period          text,
    campaign_id     uuid,
    for_survivor    boolean NOT NULL DEFAULT false,
    policy_version  text NOT NULL,
    opened_at       timestamptz NOT NULL,
    due_at          timestamptz NOT NULL,
    status          text NOT NULL,          -- open / done / cancelled
    overdue         boolean NOT NULL DEFAULT false,
    escalation      text,                   -- the highest level escalated to
    done_at         timestamptz,
    on_time         boolean,
    form            text,
    cancel_reason   text,
    version         integer NOT NULL
);
CREATE INDEX tasks_unit_due ON tasks (unit, status, due_at);
CREATE INDEX tasks_assignee ON tasks (assignee, status, due_at);
CREATE INDEX tasks_retiree ON tasks (retiree_id, status);
CREATE INDEX tasks_campaign ON tasks (campaign_id, unit) WHERE campaign_id IS NOT NULL;

-- Who does the unit's care work: the default contact and the heads, from profiles' directory events.
CREATE TABLE unit_contacts (
    unit         text PRIMARY KEY,
    name         text,
    care_contact text
);

CREATE TABLE staff (
    user_id text PRIMARY KEY,
    unit    text NOT NULL,
    role    text NOT NULL,
    active  boolean NOT NULL
);

-- The care policy versions adopted, newest last.
CREATE TABLE policies (
    version    text PRIMARY KEY,
    policy     jsonb NOT NULL,
    adopted_at timestamptz NOT NULL
);

-- Assistance cases (困难帮扶), one row per case.
CREATE TABLE assistance_cases (
    case_id          uuid PRIMARY KEY,
    retiree_id       uuid NOT NULL,
    unit             text NOT NULL,
    status           text NOT NULL,
    cause_event_id   uuid UNIQUE,          -- one case per HardshipReported
    amount_requested integer,
    recommended      integer,
    approved_amount  integer,
    opened_at        timestamptz NOT NULL,
    decision_due_at  timestamptz NOT NULL,
    decided_at       timestamptz,
    decided_on_time  boolean,
    paid_on          date,
    overdue          boolean NOT NULL DEFAULT false
);
CREATE INDEX assistance_unit ON assistance_cases (unit, status);

-- Festival campaigns (节日慰问活动).
CREATE TABLE campaigns (
    campaign_id uuid PRIMARY KEY,
    festival    text NOT NULL,
    title       text NOT NULL,
    year        integer NOT NULL,
    due_on      date NOT NULL,
    units       text[] NOT NULL,
    launched_by text NOT NULL,
    launched_at timestamptz NOT NULL,
    closed_at   timestamptz,
    tasks       integer NOT NULL
);

-- A launched campaign's people still waiting for their task: opened chunk by chunk, each chunk its own
-- transaction, so a district-wide campaign is resumable after a crash and the relay publishes while it fills.
CREATE TABLE campaign_pending (
    campaign_id  uuid NOT NULL,
    retiree_id   uuid NOT NULL,
    unit         text NOT NULL,
    for_survivor boolean NOT NULL,
    PRIMARY KEY (campaign_id, retiree_id, for_survivor)
);
