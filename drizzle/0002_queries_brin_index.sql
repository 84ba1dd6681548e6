DROP INDEX "queries_target_idx";--> statement-breakpoint
DROP INDEX "queries_started_idx";--> statement-breakpoint
CREATE INDEX "queries_started_brin" ON "queries" USING brin ("started_at");