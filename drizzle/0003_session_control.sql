ALTER TABLE "sessions" ADD COLUMN "details" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "last_activity_at" timestamp with time zone;--> statement-breakpoint
-- Control notices: every gateway sharing the store LISTENs on custos_control. An audit event
-- that can end a live session (a kill, a permission change, a grant ending) is announced on
-- commit, so the gateway holding the session acts on it within a second. The payload stays
-- small (NOTIFY allows 8000 bytes): the event's seq leads to the rest.
CREATE FUNCTION "custos_notify_control"() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('custos_control', json_build_object(
    'seq', NEW.seq,
    'type', NEW.type,
    'actor', left(NEW.actor, 200),
    'identity', left(NEW.identity, 200),
    'sessionId', NEW.session_id,
    'target', left(NEW.target, 200),
    'reason', left(NEW.data->>'reason', 1000)
  )::text);
  RETURN NULL;
END
$$ LANGUAGE plpgsql;--> statement-breakpoint
CREATE TRIGGER "audit_events_control_notice" AFTER INSERT ON "audit_events" FOR EACH ROW
  WHEN (NEW.type = 'session.terminate' OR NEW.type LIKE 'resource.%' OR NEW.type LIKE 'permission.%'
        OR NEW.type LIKE 'credential.%' OR NEW.type LIKE 'token.%' OR NEW.type LIKE 'request.%' OR NEW.type LIKE 'grant.%')
  EXECUTE FUNCTION "custos_notify_control"();
