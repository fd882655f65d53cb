-- Operations (issue 14): counters the dashboard and the alerts read instead of rows, the outbound events kept
-- for replay, the alerts' open incidents and the scheduled job's lease.

-- Counters per (hour, destination, event, status, source). Rows of the ledger (the tags that keep one) are
-- counted by the triggers below, in the same transaction as the row's own change; tags that keep counts only
-- (page views, by default) are added by the consumer, one statement per batch.
CREATE TABLE IF NOT EXISTS ledger_counts (
  hour          INTEGER NOT NULL,            -- received_ms / 3,600,000 (UTC hours since 1970)
  destination   TEXT    NOT NULL,
  event_name    TEXT    NOT NULL,
  status        TEXT    NOT NULL,
  source        TEXT    NOT NULL,            -- who sent it first: browser | server | webhook
  events        INTEGER NOT NULL DEFAULT 0,
  duplicates    INTEGER NOT NULL DEFAULT 0,
  from_server   INTEGER NOT NULL DEFAULT 0,  -- events the server or a webhook sent (also)
  seen_in_both  INTEGER NOT NULL DEFAULT 0,  -- … that the browser sent too
  scored        INTEGER NOT NULL DEFAULT 0,  -- events with a match quality
  quality_sum   REAL    NOT NULL DEFAULT 0,
  q0 INTEGER NOT NULL DEFAULT 0, q2 INTEGER NOT NULL DEFAULT 0, q4 INTEGER NOT NULL DEFAULT 0,
  q6 INTEGER NOT NULL DEFAULT 0, q8 INTEGER NOT NULL DEFAULT 0,  -- match quality 0-2, 2-4, 4-6, 6-8, 8-10
  miss_em INTEGER NOT NULL DEFAULT 0, miss_ph INTEGER NOT NULL DEFAULT 0,
  miss_external_id INTEGER NOT NULL DEFAULT 0, miss_click_id INTEGER NOT NULL DEFAULT 0,
  miss_client_ip_address INTEGER NOT NULL DEFAULT 0, miss_client_user_agent INTEGER NOT NULL DEFAULT 0,
  last_ms       INTEGER NOT NULL DEFAULT 0,  -- the latest received_ms counted here
  PRIMARY KEY (hour, destination, event_name, status, source)
) WITHOUT ROWID;  -- stored in key order: a window of hours is one contiguous read

-- A ledger row's contribution to its counter: added on insert; on update, the old contribution is taken off and
-- the new one added (a status change moves the event from one counter to another). Deleting rows (retention,
-- erasure) leaves the counters: they are history, and hold no personal data.
CREATE TRIGGER IF NOT EXISTS ledger_counts_on_insert AFTER INSERT ON ledger BEGIN
  INSERT INTO ledger_counts (hour, destination, event_name, status, source, events, duplicates, from_server,
    seen_in_both, scored, quality_sum, q0, q2, q4, q6, q8, miss_em, miss_ph, miss_external_id, miss_click_id,
    miss_client_ip_address, miss_client_user_agent, last_ms)
  VALUES (NEW.received_ms / 3600000, NEW.destination, NEW.event_name, NEW.status, NEW.source, 1, NEW.duplicates,
    (NEW.sources & 6) != 0, (NEW.sources & 6) != 0 AND (NEW.sources & 1) != 0,
    NEW.match_quality IS NOT NULL AND NEW.status != 'consent_blocked',
    CASE WHEN NEW.status != 'consent_blocked' THEN coalesce(NEW.match_quality, 0) ELSE 0 END,
    coalesce(NEW.status != 'consent_blocked' AND NEW.match_quality < 2, 0),
    coalesce(NEW.status != 'consent_blocked' AND NEW.match_quality >= 2 AND NEW.match_quality < 4, 0),
    coalesce(NEW.status != 'consent_blocked' AND NEW.match_quality >= 4 AND NEW.match_quality < 6, 0),
    coalesce(NEW.status != 'consent_blocked' AND NEW.match_quality >= 6 AND NEW.match_quality < 8, 0),
    coalesce(NEW.status != 'consent_blocked' AND NEW.match_quality >= 8, 0),
    instr(',' || coalesce(NEW.missing, '') || ',', ',em,') > 0,
    instr(',' || coalesce(NEW.missing, '') || ',', ',ph,') > 0,
    instr(',' || coalesce(NEW.missing, '') || ',', ',external_id,') > 0,
    instr(',' || coalesce(NEW.missing, '') || ',', ',click_id,') > 0,
    instr(',' || coalesce(NEW.missing, '') || ',', ',client_ip_address,') > 0,
    instr(',' || coalesce(NEW.missing, '') || ',', ',client_user_agent,') > 0,
    NEW.received_ms)
  ON CONFLICT (hour, destination, event_name, status, source) DO UPDATE SET
    events = events + excluded.events, duplicates = duplicates + excluded.duplicates,
    from_server = from_server + excluded.from_server, seen_in_both = seen_in_both + excluded.seen_in_both,
    scored = scored + excluded.scored, quality_sum = quality_sum + excluded.quality_sum,
    q0 = q0 + excluded.q0, q2 = q2 + excluded.q2, q4 = q4 + excluded.q4, q6 = q6 + excluded.q6, q8 = q8 + excluded.q8,
    miss_em = miss_em + excluded.miss_em, miss_ph = miss_ph + excluded.miss_ph,
    miss_external_id = miss_external_id + excluded.miss_external_id,
    miss_click_id = miss_click_id + excluded.miss_click_id,
    miss_client_ip_address = miss_client_ip_address + excluded.miss_client_ip_address,
    miss_client_user_agent = miss_client_user_agent + excluded.miss_client_user_agent,
    last_ms = max(last_ms, excluded.last_ms);
END;

CREATE TRIGGER IF NOT EXISTS ledger_counts_on_update
AFTER UPDATE OF status, sources, duplicates, match_quality, missing ON ledger
WHEN OLD.status IS NOT NEW.status OR OLD.sources IS NOT NEW.sources OR OLD.duplicates IS NOT NEW.duplicates
  OR OLD.match_quality IS NOT NEW.match_quality OR OLD.missing IS NOT NEW.missing
BEGIN
  UPDATE ledger_counts SET
    events = events - 1, duplicates = duplicates - OLD.duplicates,
    from_server = from_server - ((OLD.sources & 6) != 0),
    seen_in_both = seen_in_both - ((OLD.sources & 6) != 0 AND (OLD.sources & 1) != 0),
    scored = scored - (OLD.match_quality IS NOT NULL AND OLD.status != 'consent_blocked'),
    quality_sum = quality_sum - CASE WHEN OLD.status != 'consent_blocked' THEN coalesce(OLD.match_quality, 0) ELSE 0 END,
    q0 = q0 - coalesce(OLD.status != 'consent_blocked' AND OLD.match_quality < 2, 0),
    q2 = q2 - coalesce(OLD.status != 'consent_blocked' AND OLD.match_quality >= 2 AND OLD.match_quality < 4, 0),
    q4 = q4 - coalesce(OLD.status != 'consent_blocked' AND OLD.match_quality >= 4 AND OLD.match_quality < 6, 0),
    q6 = q6 - coalesce(OLD.status != 'consent_blocked' AND OLD.match_quality >= 6 AND OLD.match_quality < 8, 0),
    q8 = q8 - coalesce(OLD.status != 'consent_blocked' AND OLD.match_quality >= 8, 0),
    miss_em = miss_em - (instr(',' || coalesce(OLD.missing, '') || ',', ',em,') > 0),
    miss_ph = miss_ph - (instr(',' || coalesce(OLD.missing, '') || ',', ',ph,') > 0),
    miss_external_id = miss_external_id - (instr(',' || coalesce(OLD.missing, '') || ',', ',external_id,') > 0),
    miss_click_id = miss_click_id - (instr(',' || coalesce(OLD.missing, '') || ',', ',click_id,') > 0),
    miss_client_ip_address = miss_client_ip_address - (instr(',' || coalesce(OLD.missing, '') || ',', ',client_ip_address,') > 0),
    miss_client_user_agent = miss_client_user_agent - (instr(',' || coalesce(OLD.missing, '') || ',', ',client_user_agent,') > 0)
  WHERE hour = OLD.received_ms / 3600000 AND destination = OLD.destination AND event_name = OLD.event_name
    AND status = OLD.status AND source = OLD.source;
  INSERT INTO ledger_counts (hour, destination, event_name, status, source, events, duplicates, from_server,
    seen_in_both, scored, quality_sum, q0, q2, q4, q6, q8, miss_em, miss_ph, miss_external_id, miss_click_id,
    miss_client_ip_address, miss_client_user_agent, last_ms)
  VALUES (NEW.received_ms / 3600000, NEW.destination, NEW.event_name, NEW.status, NEW.source, 1, NEW.duplicates,
    (NEW.sources & 6) != 0, (NEW.sources & 6) != 0 AND (NEW.sources & 1) != 0,
    NEW.match_quality IS NOT NULL AND NEW.status != 'consent_blocked',
    CASE WHEN NEW.status != 'consent_blocked' THEN coalesce(NEW.match_quality, 0) ELSE 0 END,
    coalesce(NEW.status != 'consent_blocked' AND NEW.match_quality < 2, 0),
    coalesce(NEW.status != 'consent_blocked' AND NEW.match_quality >= 2 AND NEW.match_quality < 4, 0),
    coalesce(NEW.status != 'consent_blocked' AND NEW.match_quality >= 4 AND NEW.match_quality < 6, 0),
    coalesce(NEW.status != 'consent_blocked' AND NEW.match_quality >= 6 AND NEW.match_quality < 8, 0),
    coalesce(NEW.status != 'consent_blocked' AND NEW.match_quality >= 8, 0),
    instr(',' || coalesce(NEW.missing, '') || ',', ',em,') > 0,
    instr(',' || coalesce(NEW.missing, '') || ',', ',ph,') > 0,
    instr(',' || coalesce(NEW.missing, '') || ',', ',external_id,') > 0,
    instr(',' || coalesce(NEW.missing, '') || ',', ',click_id,') > 0,
    instr(',' || coalesce(NEW.missing, '') || ',', ',client_ip_address,') > 0,
    instr(',' || coalesce(NEW.missing, '') || ',', ',client_user_agent,') > 0,
    NEW.received_ms)
  ON CONFLICT (hour, destination, event_name, status, source) DO UPDATE SET
    events = events + excluded.events, duplicates = duplicates + excluded.duplicates,
    from_server = from_server + excluded.from_server, seen_in_both = seen_in_both + excluded.seen_in_both,
    scored = scored + excluded.scored, quality_sum = quality_sum + excluded.quality_sum,
    q0 = q0 + excluded.q0, q2 = q2 + excluded.q2, q4 = q4 + excluded.q4, q6 = q6 + excluded.q6, q8 = q8 + excluded.q8,
    miss_em = miss_em + excluded.miss_em, miss_ph = miss_ph + excluded.miss_ph,
    miss_external_id = miss_external_id + excluded.miss_external_id,
    miss_click_id = miss_click_id + excluded.miss_click_id,
    miss_client_ip_address = miss_client_ip_address + excluded.miss_client_ip_address,
    miss_client_user_agent = miss_client_user_agent + excluded.miss_client_user_agent,
    last_ms = max(last_ms, excluded.last_ms);
END;

-- Counters as they were before this migration: the existing rows, counted once.
INSERT INTO ledger_counts (hour, destination, event_name, status, source, events, duplicates, from_server,
  seen_in_both, scored, quality_sum, q0, q2, q4, q6, q8, miss_em, miss_ph, miss_external_id, miss_click_id,
  miss_client_ip_address, miss_client_user_agent, last_ms)
SELECT received_ms / 3600000, destination, event_name, status, source, count(*), coalesce(sum(duplicates), 0),
  coalesce(sum((sources & 6) != 0), 0), coalesce(sum((sources & 6) != 0 AND (sources & 1) != 0), 0),
  coalesce(sum(match_quality IS NOT NULL AND status != 'consent_blocked'), 0),
  coalesce(sum(CASE WHEN status != 'consent_blocked' THEN coalesce(match_quality, 0) ELSE 0 END), 0),
  coalesce(sum(status != 'consent_blocked' AND match_quality < 2), 0),
  coalesce(sum(status != 'consent_blocked' AND match_quality >= 2 AND match_quality < 4), 0),
  coalesce(sum(status != 'consent_blocked' AND match_quality >= 4 AND match_quality < 6), 0),
  coalesce(sum(status != 'consent_blocked' AND match_quality >= 6 AND match_quality < 8), 0),
  coalesce(sum(status != 'consent_blocked' AND match_quality >= 8), 0),
  coalesce(sum(instr(',' || coalesce(missing, '') || ',', ',em,') > 0), 0),
  coalesce(sum(instr(',' || coalesce(missing, '') || ',', ',ph,') > 0), 0),
  coalesce(sum(instr(',' || coalesce(missing, '') || ',', ',external_id,') > 0), 0),
  coalesce(sum(instr(',' || coalesce(missing, '') || ',', ',click_id,') > 0), 0),
  coalesce(sum(instr(',' || coalesce(missing, '') || ',', ',client_ip_address,') > 0), 0),
  coalesce(sum(instr(',' || coalesce(missing, '') || ',', ',client_user_agent,') > 0), 0),
  max(received_ms)
FROM ledger WHERE true
GROUP BY 1, 2, 3, 4, 5
ON CONFLICT (hour, destination, event_name, status, source) DO NOTHING;

-- The dashboard's latest failures, newest first, read from the index alone (not by sorting every failure).
CREATE INDEX IF NOT EXISTS ledger_by_status_updated ON ledger (status, updated_ms);

-- The outbound event (the destination's JSON: hashed identifiers, plus the IP and user agent the platforms
-- take in clear) of each event that ended failed or dead_letter, so `capi-edge replay` can send it again.
-- Deleted when a replay delivers it, and by the scheduled job after the platforms' 7-day window.
CREATE TABLE IF NOT EXISTS kept_events (
  destination TEXT    NOT NULL,
  event_name  TEXT    NOT NULL,
  event_id    TEXT    NOT NULL,
  message     TEXT    NOT NULL,  -- the queue message as intake wrote it (JSON)
  kept_ms     INTEGER NOT NULL,
  PRIMARY KEY (destination, event_name, event_id)
);
CREATE INDEX IF NOT EXISTS kept_events_by_time ON kept_events (kept_ms);

-- The alerts' open incidents, one per destination: opened once, closed once (with a recovery message).
CREATE TABLE IF NOT EXISTS incidents (
  destination TEXT    PRIMARY KEY,
  opened_ms   INTEGER NOT NULL,
  summary     TEXT    NOT NULL,
  notified    INTEGER NOT NULL DEFAULT 0   -- 1 once the alert webhook took the message
);

-- The scheduled job's lease: a run that overlaps the previous one finds it held and does nothing.
CREATE TABLE IF NOT EXISTS jobs (
  name        TEXT    PRIMARY KEY,
  lease_until INTEGER NOT NULL,
  last_run_ms INTEGER NOT NULL DEFAULT 0
);
