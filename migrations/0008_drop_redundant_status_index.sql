-- Fewer rows written per ledger write: `ledger_by_status` (status) is a prefix of `ledger_by_status_updated`
-- (status, updated_ms, 0003), which every query by status can use; D1 bills each index entry a write changes
-- as a row written, so the single-column index cost a row on every claim and every change of status
-- (bench/cost.mjs measures it).
DROP INDEX IF EXISTS ledger_by_status;
