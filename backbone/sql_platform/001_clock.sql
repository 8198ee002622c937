-- The platform's simulated clock: when a row exists, every service follows this time instead of the wall clock.
-- `offset_s` is what a demo or test has advanced; `frozen_at` pins the time exactly when set.
CREATE TABLE clock (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    frozen_at  timestamptz,
    offset_s   double precision NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);
