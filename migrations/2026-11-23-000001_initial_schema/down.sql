DROP TABLE IF EXISTS global_settings, wishlist_items, registration_otps, password_reset_tokens,
    revoked_tokens, idempotency_keys, audit, ops_batch_orders, ops_batches, stock_requests, payments,
    order_pickup_details, order_delivery_details, order_items, orders, cart_items, carts,
    delivery_slots, inventory, products, categories, payment_tokens, addresses, users, branches;
DROP TYPE IF EXISTS token_type, payment_status, idempotency_status, cart_status, stock_request_status,
    stock_request_type, picked_status, fulfillment_type, order_status, role_enum;
