CREATE TABLE "web_sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"secret_hash" text NOT NULL,
	"identity_id" text NOT NULL,
	"identity_name" text NOT NULL,
	"token_id" text NOT NULL,
	"client_addr" text,
	"user_agent" text,
	"created_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL,
	"idle_expires_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone,
	"end_reason" text,
	CONSTRAINT "web_sessions_secret_hash_unique" UNIQUE("secret_hash")
);
--> statement-breakpoint
CREATE INDEX "web_sessions_identity_idx" ON "web_sessions" USING btree ("identity_id");--> statement-breakpoint
CREATE INDEX "web_sessions_expires_idx" ON "web_sessions" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "queries_identity_id_idx" ON "queries" USING btree ("identity_id","id");--> statement-breakpoint
CREATE INDEX "sessions_identity_id_idx" ON "sessions" USING btree ("identity_id","started_at");--> statement-breakpoint
CREATE INDEX "sessions_ticket_idx" ON "sessions" USING btree ("ticket");