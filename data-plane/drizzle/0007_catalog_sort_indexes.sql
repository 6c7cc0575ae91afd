CREATE INDEX "products_tenant_status_price_idx" ON "products" USING btree ("tenant_id","status","price_minor");--> statement-breakpoint
CREATE INDEX "products_tenant_status_price_desc_idx" ON "products" USING btree ("tenant_id","status","price_minor" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "products_tenant_status_title_idx" ON "products" USING btree ("tenant_id","status","title");--> statement-breakpoint
CREATE INDEX "products_tenant_category_idx" ON "products" USING btree ("tenant_id","category_id");