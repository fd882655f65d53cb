-- What intake saw that no ledger row shows, per hour: hits whose event fired no tag, by event name (kind
-- 'no_tag'; a typo such as "Purchse" on the site), and values redacted from page URLs (kind 'redacted', name '').
-- The consumer adds each batch's sums (src/tally.rs); at most 200 names an hour, later ones under "(other names)".
CREATE TABLE IF NOT EXISTS intake_counts (
  hour    INTEGER NOT NULL,   -- received_ms / 3,600,000
  kind    TEXT    NOT NULL,   -- no_tag | redacted
  name    TEXT    NOT NULL,
  hits    INTEGER NOT NULL DEFAULT 0,
  last_ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (hour, kind, name)
) WITHOUT ROWID;
