-- The rolling sample of recent hits (issue 13, item 4): what `capi-edge diff A B --hits` runs two configs on before
-- one is published. One hit in `[site] sample_one_in` (default 20), never one with denied consent, with every
-- customer identifier already SHA-256 hashed and the IP address, user agent, cookies and click ids replaced by
-- placeholders (src/sample.rs). The queue consumer writes them and keeps the newest 500 of the last 3 days, in the
-- same batch; the scheduled job deletes what is older than 3 days when no hit comes.
CREATE TABLE IF NOT EXISTS hit_samples (
  id          INTEGER PRIMARY KEY,   -- rowid: the newest has the highest
  received_ms INTEGER NOT NULL,
  source      TEXT    NOT NULL,      -- browser | server | webhook
  event_name  TEXT    NOT NULL,      -- the hit's event, as it came
  hit         TEXT    NOT NULL       -- the sampled hit, in the JSON shape `capi-edge run --hit` reads
);
