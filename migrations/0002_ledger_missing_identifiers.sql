-- Which valuable identifiers an event lacked (comma-separated codes: em, ph, external_id, click_id, …),
-- for the dashboard's "most often missing".
ALTER TABLE ledger ADD COLUMN missing TEXT;
