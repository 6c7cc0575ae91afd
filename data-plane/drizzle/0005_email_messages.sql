CREATE TABLE "email_messages" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"order_id" uuid NOT NULL,
	"to_address" text NOT NULL,
	"sealed_token" text,
	"status" text DEFAULT 'queued' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_error" text,
	"sent_at" timestamp with time zone,
	"smtp_message_id" text,
	"smtp_response" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "email_messages_order_kind_unique" UNIQUE("tenant_id","order_id","kind"),
	CONSTRAINT "email_messages_attempts_non_negative" CHECK ("email_messages"."attempts" >= 0),
	CONSTRAINT "email_messages_sent_at" CHECK (("email_messages"."status" = 'sent') = ("email_messages"."sent_at" IS NOT NULL))
);
--> statement-breakpoint
ALTER TABLE "email_messages" ADD CONSTRAINT "email_messages_order_fk" FOREIGN KEY ("tenant_id","order_id") REFERENCES "orders"("tenant_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "email_messages_due_idx" ON "email_messages" USING btree ("tenant_id","next_attempt_at") WHERE status = 'queued';--> statement-breakpoint
CREATE INDEX "email_messages_tenant_created_idx" ON "email_messages" USING btree ("tenant_id","created_at");--> statement-breakpoint
CREATE INDEX "email_messages_tenant_status_idx" ON "email_messages" USING btree ("tenant_id","status","created_at");