-- A recipient's own quiet hours (SetQuietHours), projected from QuietHoursSet; without a row, the platform's.
CREATE TABLE quiet_hours (
    recipient text PRIMARY KEY,
    start_at  time NOT NULL,
    end_at    time NOT NULL
);
