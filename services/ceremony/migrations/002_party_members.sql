-- Who is a party member (from profiles' PartyMembershipRecorded): the thank-you letter speaks of the Party
-- only to them. A table of its own, because membership is often recorded before the retirement is approved.
CREATE TABLE party_members (
    retiree_id uuid PRIMARY KEY
);
