DROP INDEX ix_idempotency_order;
