-- Settling a checkout (paid, declined, voided) updates its idempotency key by the order's id.
-- Without an index that was a scan of every key still kept (24 h of checkouts) on every
-- confirm: 120,000 rows in the benchmark's database (docs/performance.md).
CREATE INDEX ix_idempotency_order ON idempotency_keys (order_id);
