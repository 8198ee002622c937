-- The kind of each unit (UnitRegistered.kind): the district itself is not one of the units scored, unless
-- something was owed there. NULL for units projected before this column (`wanqing rebuild care` fills it).
ALTER TABLE unit_contacts ADD COLUMN kind text;
