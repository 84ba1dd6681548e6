CREATE TABLE "kube_requests" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"session_id" text NOT NULL,
	"seq" integer NOT NULL,
	"identity_id" text NOT NULL,
	"identity_name" text NOT NULL,
	"target" text NOT NULL,
	"method" text NOT NULL,
	"verb" text NOT NULL,
	"api_group" text NOT NULL,
	"api_version" text NOT NULL,
	"resource" text NOT NULL,
	"subresource" text NOT NULL,
	"namespace" text NOT NULL,
	"name" text NOT NULL,
	"path" text NOT NULL,
	"decision" text NOT NULL,
	"reason" text,
	"kube_user" text,
	"kube_groups" jsonb,
	"started_at" timestamp with time zone NOT NULL,
	"code" integer,
	"duration_ms" double precision,
	"request_bytes" bigint,
	"response_bytes" bigint,
	"client_addr" text,
	"user_agent" text,
	"details" jsonb
);
--> statement-breakpoint
CREATE INDEX "kube_requests_identity_idx" ON "kube_requests" USING btree ("identity_name","started_at");--> statement-breakpoint
CREATE INDEX "kube_requests_session_idx" ON "kube_requests" USING btree ("session_id","seq");--> statement-breakpoint
CREATE INDEX "kube_requests_started_brin" ON "kube_requests" USING brin ("started_at");--> statement-breakpoint
CREATE INDEX "kube_requests_identity_id_idx" ON "kube_requests" USING btree ("identity_id","id");