-- Trigram matching for fuzzy catalog search, and btree_gin so the search indexes can lead
-- with tenant_id (the planner then reads one tenant's entries, not every tenant's). Both are
-- trusted extensions: the database owner may create them.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
--> statement-breakpoint
CREATE EXTENSION IF NOT EXISTS btree_gin;
