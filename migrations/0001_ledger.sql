-- The delivery ledger: one row per (destination, event_name, event_id). Hashes and amounts only, never raw PII.
CREATE TABLE IF NOT EXISTS ledger (
  destination   TEXT    NOT NULL,
  event_name    TEXT    NOT NULL,            -- the destination's name for it (order_created at OpenAI)
  event_id      TEXT    NOT NULL,
  tag           TEXT    NOT NULL,
  source        TEXT    NOT NULL,            -- browser | server | webhook: who sent it first
  sources       INTEGER NOT NULL DEFAULT 0,  -- every source seen: 1 browser, 2 server, 4 webhook
  intake_id     TEXT    NOT NULL,            -- the queue message that owns sending it
  received_ms   INTEGER NOT NULL,
  updated_ms    INTEGER NOT NULL,
  status        TEXT    NOT NULL,            -- queued | retrying | sent | failed | dead_letter | consent_blocked | dropped
  attempts      INTEGER NOT NULL DEFAULT 0,
  duplicates    INTEGER NOT NULL DEFAULT 0,  -- later copies that were not sent again
  response      TEXT,                        -- the platform's last answer, or why it was not sent
  value         REAL,
  currency      TEXT,
  match_quality REAL,
  PRIMARY KEY (destination, event_name, event_id)
);
CREATE INDEX IF NOT EXISTS ledger_by_received ON ledger (received_ms);
CREATE INDEX IF NOT EXISTS ledger_by_status ON ledger (status);
