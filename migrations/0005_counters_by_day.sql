-- Counters compacted by day (issue 14: the dashboard's cost must not grow with traffic). The scheduled job folds
-- the hourly counters of each day older than the alerts' history (9 days) into one row per day, at the day's
-- first hour (hour = day * 24), so a 30-day dashboard sums 9 days of hours and 21 days, not 720 hours.
--
-- A ledger row updated after its day was folded (a replay, a late retry) must still move its event from one
-- counter to another. The update trigger of 0003 took the old contribution off with an UPDATE of the old hour's
-- row, which no longer exists once folded; here it is an upsert of the negated contribution instead: a row with
-- negative counts at that hour, which sums right and which the next fold takes in.
DROP TRIGGER IF EXISTS ledger_counts_on_update;

CREATE TRIGGER IF NOT EXISTS ledger_counts_on_update
AFTER UPDATE OF status, sources, duplicates, match_quality, missing ON ledger
WHEN OLD.status IS NOT NEW.status OR OLD.sources IS NOT NEW.sources OR OLD.duplicates IS NOT NEW.duplicates
  OR OLD.match_quality IS NOT NEW.match_quality OR OLD.missing IS NOT NEW.missing
BEGIN
  INSERT INTO ledger_counts (hour, destination, event_name, status, source, events, duplicates, from_server,
    seen_in_both, scored, quality_sum, q0, q2, q4, q6, q8, miss_em, miss_ph, miss_external_id, miss_click_id,
    miss_client_ip_address, miss_client_user_agent, last_ms)
  VALUES (OLD.received_ms / 3600000,
    OLD.destination,
    OLD.event_name,
    OLD.status,
    OLD.source,
    -1,
    -(OLD.duplicates),
    -((OLD.sources & 6) != 0),
    -((OLD.sources & 6) != 0 AND (OLD.sources & 1) != 0),
    -(OLD.match_quality IS NOT NULL AND OLD.status != 'consent_blocked'),
    -(CASE WHEN OLD.status != 'consent_blocked' THEN coalesce(OLD.match_quality, 0) ELSE 0 END),
    -(coalesce(OLD.status != 'consent_blocked' AND OLD.match_quality < 2, 0)),
    -(coalesce(OLD.status != 'consent_blocked' AND OLD.match_quality >= 2 AND OLD.match_quality < 4, 0)),
    -(coalesce(OLD.status != 'consent_blocked' AND OLD.match_quality >= 4 AND OLD.match_quality < 6, 0)),
    -(coalesce(OLD.status != 'consent_blocked' AND OLD.match_quality >= 6 AND OLD.match_quality < 8, 0)),
    -(coalesce(OLD.status != 'consent_blocked' AND OLD.match_quality >= 8, 0)),
    -(instr(',' || coalesce(OLD.missing, '') || ',', ',em,') > 0),
    -(instr(',' || coalesce(OLD.missing, '') || ',', ',ph,') > 0),
    -(instr(',' || coalesce(OLD.missing, '') || ',', ',external_id,') > 0),
    -(instr(',' || coalesce(OLD.missing, '') || ',', ',click_id,') > 0),
    -(instr(',' || coalesce(OLD.missing, '') || ',', ',client_ip_address,') > 0),
    -(instr(',' || coalesce(OLD.missing, '') || ',', ',client_user_agent,') > 0),
    0)
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
