CREATE TABLE "telegram_init_data_uses" (
	"tenant_id" uuid NOT NULL,
	"hash" text NOT NULL,
	"auth_date" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "telegram_init_data_uses_tenant_id_hash_pk" PRIMARY KEY("tenant_id","hash")
);
--> statement-breakpoint
ALTER TABLE "buyers" ALTER COLUMN "email" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "buyers" ALTER COLUMN "password_hash" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "buyers" ADD COLUMN "telegram_user_id" bigint;--> statement-breakpoint
CREATE INDEX "telegram_init_data_uses_auth_date_idx" ON "telegram_init_data_uses" USING btree ("tenant_id","auth_date");--> statement-breakpoint
CREATE UNIQUE INDEX "buyers_tenant_telegram_user_unique" ON "buyers" USING btree ("tenant_id","telegram_user_id");--> statement-breakpoint
ALTER TABLE "buyers" ADD CONSTRAINT "buyers_sign_in_method" CHECK (("buyers"."email" IS NULL) = ("buyers"."password_hash" IS NULL) AND ("buyers"."email" IS NOT NULL OR "buyers"."telegram_user_id" IS NOT NULL));