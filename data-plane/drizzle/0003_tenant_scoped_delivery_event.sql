-- Deliveries reference their event by (tenant_id, id): foreign-key checks ignore row-level
-- security, so a key without the tenant would let one shared tenant point at another's event.
ALTER TABLE "outbox_events" ADD CONSTRAINT "outbox_events_tenant_id_unique" UNIQUE("tenant_id","id");
--> statement-breakpoint
ALTER TABLE "webhook_deliveries" DROP CONSTRAINT "webhook_deliveries_outbox_event_id_outbox_events_id_fk";
--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_outbox_event_fk" FOREIGN KEY ("tenant_id","outbox_event_id") REFERENCES "outbox_events"("tenant_id","id") ON DELETE no action ON UPDATE no action;
