-- A party member whose join date the archive does not know is still a member (campaigns for party members
-- reach them; only the political birthday, which needs the date, cannot be kept).
ALTER TABLE retiree_facts ADD COLUMN party_member boolean NOT NULL DEFAULT false;
UPDATE retiree_facts SET party_member = true WHERE party_joined_on IS NOT NULL;
