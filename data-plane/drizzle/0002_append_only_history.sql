-- The audit log is append-only: history is never rewritten, not even by the service itself.
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
--> statement-breakpoint
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
--> statement-breakpoint
-- The escrow ledger and the order history are append-only: nothing rewrites them, not even
-- the service itself. Corrections are new entries.
CREATE FUNCTION commerce_history_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER ledger_entries_no_update_delete BEFORE UPDATE OR DELETE ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION commerce_history_refuse_change();
--> statement-breakpoint
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
  FOR EACH STATEMENT EXECUTE FUNCTION commerce_history_refuse_change();
--> statement-breakpoint
CREATE TRIGGER ledger_transactions_no_update_delete BEFORE UPDATE OR DELETE ON ledger_transactions
  FOR EACH ROW EXECUTE FUNCTION commerce_history_refuse_change();
--> statement-breakpoint
CREATE TRIGGER ledger_transactions_no_truncate BEFORE TRUNCATE ON ledger_transactions
  FOR EACH STATEMENT EXECUTE FUNCTION commerce_history_refuse_change();
--> statement-breakpoint
CREATE TRIGGER order_transitions_no_update_delete BEFORE UPDATE OR DELETE ON order_transitions
  FOR EACH ROW EXECUTE FUNCTION commerce_history_refuse_change();
--> statement-breakpoint
CREATE TRIGGER order_transitions_no_truncate BEFORE TRUNCATE ON order_transitions
  FOR EACH STATEMENT EXECUTE FUNCTION commerce_history_refuse_change();
--> statement-breakpoint
CREATE TRIGGER payment_evidence_no_update_delete BEFORE UPDATE OR DELETE ON payment_evidence
  FOR EACH ROW EXECUTE FUNCTION commerce_history_refuse_change();
--> statement-breakpoint
-- Checked at commit (deferred), once every entry of the transaction is in: the entries of a
-- ledger transaction sum to zero in one currency, match the transaction's amount, and no
-- order's escrow hold goes below zero (released + refunded never exceed funded).
CREATE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  total numeric;
  currencies integer;
  moved numeric;
  declared numeric;
  held numeric;
BEGIN
  SELECT coalesce(sum(amount_minor), 0), count(DISTINCT currency), coalesce(sum(amount_minor) FILTER (WHERE amount_minor > 0), 0)
    INTO total, currencies, moved
    FROM ledger_entries WHERE tenant_id = NEW.tenant_id AND transaction_id = NEW.transaction_id;
  IF total <> 0 THEN
    RAISE EXCEPTION 'ledger transaction % does not balance (sum %)', NEW.transaction_id, total
      USING ERRCODE = 'check_violation';
  END IF;
  IF currencies <> 1 THEN
    RAISE EXCEPTION 'ledger transaction % mixes currencies', NEW.transaction_id USING ERRCODE = 'check_violation';
  END IF;
  SELECT amount_minor INTO declared FROM ledger_transactions
    WHERE tenant_id = NEW.tenant_id AND id = NEW.transaction_id AND order_id = NEW.order_id AND currency = NEW.currency;
  IF declared IS NULL OR declared <> moved THEN
    RAISE EXCEPTION 'ledger transaction % entries do not match its amount, order or currency', NEW.transaction_id
      USING ERRCODE = 'check_violation';
  END IF;
  SELECT coalesce(sum(amount_minor), 0) INTO held FROM ledger_entries
    WHERE tenant_id = NEW.tenant_id AND order_id = NEW.order_id AND account = 'escrow_hold';
  IF held < 0 THEN
    RAISE EXCEPTION 'escrow hold of order % would go negative (%)', NEW.order_id, held
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced();
