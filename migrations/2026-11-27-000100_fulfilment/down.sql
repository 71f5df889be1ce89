-- PostgreSQL cannot drop enum values: CAPTURE_PENDING, REFUND_PENDING and PARTIALLY_REFUNDED
-- stay in payment_status (unused once the columns below are gone).
DROP TABLE IF EXISTS order_item_damage_reports;
ALTER TABLE orders DROP COLUMN IF EXISTS delivered_at;
DROP INDEX IF EXISTS ix_order_items_picked_at;
ALTER TABLE order_items
    DROP COLUMN IF EXISTS removed_at,
    DROP COLUMN IF EXISTS picked_at,
    DROP COLUMN IF EXISTS picked_by;
DROP INDEX IF EXISTS ix_payments_status_updated;
ALTER TABLE payments
    DROP CONSTRAINT IF EXISTS payments_pending_amount_check,
    DROP COLUMN IF EXISTS provider_refund_id,
    DROP COLUMN IF EXISTS pending_amount;
