CREATE TABLE "access_requests" (
	"id" text PRIMARY KEY NOT NULL,
	"identity_id" text NOT NULL,
	"identity_name" text NOT NULL,
	"identity_kind" text NOT NULL,
	"identity_owner" text,
	"requested_by" text NOT NULL,
	"target" text NOT NULL,
	"protocol" text NOT NULL,
	"login" text,
	"db_user" text,
	"kube_group" text,
	"role" text NOT NULL,
	"reason" text NOT NULL,
	"ticket" text,
	"duration_ms" bigint NOT NULL,
	"starts_at" timestamp with time zone,
	"approvals_required" integer NOT NULL,
	"approver_roles" jsonb NOT NULL,
	"state" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"approved_at" timestamp with time zone,
	"closed_at" timestamp with time zone,
	"closed_by" text,
	"close_reason" text
);
--> statement-breakpoint
CREATE TABLE "grants" (
	"id" text PRIMARY KEY NOT NULL,
	"request_id" text NOT NULL,
	"identity_id" text NOT NULL,
	"identity_name" text NOT NULL,
	"target" text NOT NULL,
	"login" text,
	"db_user" text,
	"kube_group" text,
	"role" text NOT NULL,
	"ticket" text,
	"approvers" jsonb NOT NULL,
	"starts_at" timestamp with time zone NOT NULL,
	"ends_at" timestamp with time zone NOT NULL,
	"state" text NOT NULL,
	"ended_at" timestamp with time zone,
	"end_kind" text,
	"ended_by" text,
	"end_reason" text,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "grants_request_id_unique" UNIQUE("request_id")
);
--> statement-breakpoint
CREATE TABLE "request_approvals" (
	"request_id" text NOT NULL,
	"approver_id" text NOT NULL,
	"approver_name" text NOT NULL,
	"decision" text NOT NULL,
	"reason" text,
	"at" timestamp with time zone NOT NULL,
	CONSTRAINT "request_approvals_request_id_approver_id_pk" PRIMARY KEY("request_id","approver_id")
);
--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "request_id" text;--> statement-breakpoint
ALTER TABLE "tokens" ADD COLUMN "request_id" text;--> statement-breakpoint
CREATE INDEX "access_requests_state_idx" ON "access_requests" USING btree ("state","expires_at");--> statement-breakpoint
CREATE INDEX "access_requests_identity_idx" ON "access_requests" USING btree ("identity_id","created_at");--> statement-breakpoint
CREATE INDEX "access_requests_created_idx" ON "access_requests" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "grants_identity_idx" ON "grants" USING btree ("identity_id","state");--> statement-breakpoint
CREATE INDEX "grants_state_idx" ON "grants" USING btree ("state","ends_at");--> statement-breakpoint
CREATE INDEX "sessions_request_idx" ON "sessions" USING btree ("request_id");