CREATE TABLE "audit_events" (
	"seq" bigint PRIMARY KEY NOT NULL,
	"time" timestamp with time zone NOT NULL,
	"type" text NOT NULL,
	"actor" text NOT NULL,
	"identity" text,
	"session_id" text,
	"target" text,
	"data" jsonb NOT NULL,
	"prev_hash" text NOT NULL,
	"hash" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "cancel_keys" (
	"process_id" integer PRIMARY KEY NOT NULL,
	"secret_key" text NOT NULL,
	"session_id" text NOT NULL,
	"node" text NOT NULL,
	"upstream_address" text NOT NULL,
	"upstream_process_id" integer NOT NULL,
	"upstream_secret_key" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "file_operations" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"session_id" text NOT NULL,
	"channel_id" integer,
	"time" timestamp with time zone NOT NULL,
	"operation" text NOT NULL,
	"path" text NOT NULL,
	"target_path" text,
	"bytes" bigint,
	"result" text NOT NULL,
	"error" text
);
--> statement-breakpoint
CREATE TABLE "identities" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"owner" text,
	"roles" jsonb NOT NULL,
	"spec" jsonb NOT NULL,
	"scram_salt" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "identities_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "identity_ssh_keys" (
	"fingerprint" text PRIMARY KEY NOT NULL,
	"identity_id" text NOT NULL,
	"algorithm" text NOT NULL,
	"public_key" text NOT NULL,
	"comment" text
);
--> statement-breakpoint
CREATE TABLE "port_forwards" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"session_id" text NOT NULL,
	"channel_id" integer,
	"kind" text NOT NULL,
	"dest_host" text NOT NULL,
	"dest_port" integer NOT NULL,
	"origin_addr" text,
	"allowed" boolean NOT NULL,
	"reason" text,
	"opened_at" timestamp with time zone NOT NULL,
	"closed_at" timestamp with time zone,
	"bytes_in" bigint NOT NULL,
	"bytes_out" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "queries" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"session_id" text NOT NULL,
	"seq" integer NOT NULL,
	"identity_id" text NOT NULL,
	"identity_name" text NOT NULL,
	"target" text NOT NULL,
	"database" text NOT NULL,
	"db_user" text NOT NULL,
	"protocol" text NOT NULL,
	"statement" text NOT NULL,
	"params" jsonb,
	"started_at" timestamp with time zone NOT NULL,
	"duration_ms" double precision,
	"command_tag" text,
	"row_count" bigint,
	"status" text NOT NULL,
	"sqlstate" text,
	"error_message" text,
	"details" jsonb
);
--> statement-breakpoint
CREATE TABLE "roles" (
	"name" text PRIMARY KEY NOT NULL,
	"spec" jsonb NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "session_channels" (
	"session_id" text NOT NULL,
	"channel_id" integer NOT NULL,
	"kind" text NOT NULL,
	"command" text,
	"pty" jsonb,
	"started_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone,
	"exit_code" integer,
	"exit_signal" text,
	"recording_path" text,
	"recording_bytes" bigint,
	"recording_sha256" text,
	CONSTRAINT "session_channels_session_id_channel_id_pk" PRIMARY KEY("session_id","channel_id")
);
--> statement-breakpoint
CREATE TABLE "sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"protocol" text NOT NULL,
	"state" text NOT NULL,
	"identity_id" text NOT NULL,
	"identity_name" text NOT NULL,
	"identity_kind" text NOT NULL,
	"identity_owner" text,
	"credential_id" text NOT NULL,
	"target" text NOT NULL,
	"target_address" text NOT NULL,
	"login" text,
	"database" text,
	"client_addr" text,
	"node" text NOT NULL,
	"grant_id" text,
	"ticket" text,
	"started_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone,
	"expires_at" timestamp with time zone,
	"end_reason" text,
	"recording_path" text,
	"recording_bytes" bigint,
	"recording_sha256" text,
	"stats" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "store_meta" (
	"key" text PRIMARY KEY NOT NULL,
	"value" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "targets" (
	"name" text PRIMARY KEY NOT NULL,
	"protocol" text NOT NULL,
	"address" text NOT NULL,
	"labels" jsonb NOT NULL,
	"spec" jsonb NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tokens" (
	"id" text PRIMARY KEY NOT NULL,
	"identity_id" text NOT NULL,
	"token_hash" text NOT NULL,
	"scram_stored_key" text NOT NULL,
	"scram_server_key" text NOT NULL,
	"scram_iterations" integer NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"created_by" text NOT NULL,
	"expires_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	"revoked_by" text,
	"last_used_at" timestamp with time zone,
	CONSTRAINT "tokens_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE INDEX "audit_events_time_idx" ON "audit_events" USING btree ("time");--> statement-breakpoint
CREATE INDEX "audit_events_identity_idx" ON "audit_events" USING btree ("identity","time");--> statement-breakpoint
CREATE INDEX "audit_events_type_idx" ON "audit_events" USING btree ("type","time");--> statement-breakpoint
CREATE INDEX "audit_events_session_idx" ON "audit_events" USING btree ("session_id");--> statement-breakpoint
CREATE INDEX "cancel_keys_session_idx" ON "cancel_keys" USING btree ("session_id");--> statement-breakpoint
CREATE INDEX "file_operations_session_idx" ON "file_operations" USING btree ("session_id","time");--> statement-breakpoint
CREATE INDEX "identity_ssh_keys_identity_idx" ON "identity_ssh_keys" USING btree ("identity_id");--> statement-breakpoint
CREATE INDEX "port_forwards_session_idx" ON "port_forwards" USING btree ("session_id");--> statement-breakpoint
CREATE INDEX "queries_identity_idx" ON "queries" USING btree ("identity_name","started_at");--> statement-breakpoint
CREATE INDEX "queries_session_idx" ON "queries" USING btree ("session_id","seq");--> statement-breakpoint
CREATE INDEX "queries_target_idx" ON "queries" USING btree ("target","started_at");--> statement-breakpoint
CREATE INDEX "queries_started_idx" ON "queries" USING btree ("started_at");--> statement-breakpoint
CREATE INDEX "sessions_started_idx" ON "sessions" USING btree ("started_at");--> statement-breakpoint
CREATE INDEX "sessions_identity_idx" ON "sessions" USING btree ("identity_name","started_at");--> statement-breakpoint
CREATE INDEX "sessions_target_idx" ON "sessions" USING btree ("target","started_at");--> statement-breakpoint
CREATE INDEX "sessions_state_idx" ON "sessions" USING btree ("state");--> statement-breakpoint
CREATE INDEX "tokens_identity_idx" ON "tokens" USING btree ("identity_id");