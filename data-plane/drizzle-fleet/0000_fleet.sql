CREATE TABLE "backup_logs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"status" text NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"path" text,
	"size_bytes" bigint,
	"rows" bigint,
	"error" text,
	"detail" jsonb
);
--> statement-breakpoint
CREATE TABLE "fleet_migration_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"target" bigint NOT NULL,
	"total" integer NOT NULL,
	"done" integer DEFAULT 0 NOT NULL,
	"failed" integer DEFAULT 0 NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "fleet_migration_tenants" (
	"run_id" uuid NOT NULL,
	"tenant_id" uuid NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"error" text,
	"finished_at" timestamp with time zone,
	CONSTRAINT "fleet_migration_tenants_pk" PRIMARY KEY("run_id","tenant_id")
);
--> statement-breakpoint
CREATE TABLE "tenant_placements" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"slug" text NOT NULL,
	"mode" text NOT NULL,
	"server" text NOT NULL,
	"database" text NOT NULL,
	"schema" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "fleet_migration_tenants" ADD CONSTRAINT "fleet_migration_tenants_run_id_fleet_migration_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."fleet_migration_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "backup_logs_tenant_started" ON "backup_logs" USING btree ("tenant_id","started_at");