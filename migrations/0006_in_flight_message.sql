-- The queue message of an event in flight (status queued or retrying), kept on its row from the claim until the
-- outcome is written, then set to NULL. A row no consumer finished (stopped, or the ledger failing at the wrong
-- moment) is found by the scheduled job after 30 minutes: it becomes dead_letter with the reason, and this copy
-- moves to kept_events, so a replay can send it. It holds what kept_events holds: hashed identifiers, plus the IP
-- address and user agent the platforms take in clear.
ALTER TABLE ledger ADD COLUMN message TEXT;
