//! Diesel table definitions, kept in step with `migrations/` by hand (the `schema_matches`
//! test in `mami-tests` compares them with the migrated database).

pub mod sql_types {
    #[derive(diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
    #[diesel(postgres_type(name = "role_enum"))]
    pub struct RoleEnum;

    #[derive(diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
    #[diesel(postgres_type(name = "token_type"))]
    pub struct TokenType;

    #[derive(diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
    #[diesel(postgres_type(name = "cart_status"))]
    pub struct CartStatus;

    #[derive(diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
    #[diesel(postgres_type(name = "order_status"))]
    pub struct OrderStatus;

    #[derive(diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
    #[diesel(postgres_type(name = "fulfillment_type"))]
    pub struct FulfillmentType;

    #[derive(diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
    #[diesel(postgres_type(name = "payment_status"))]
    pub struct PaymentStatus;

    #[derive(diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
    #[diesel(postgres_type(name = "picked_status"))]
    pub struct PickedStatus;

    #[derive(diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
    #[diesel(postgres_type(name = "idempotency_status"))]
    pub struct IdempotencyStatus;

    #[derive(diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
    #[diesel(postgres_type(name = "stock_request_type"))]
    pub struct StockRequestType;

    #[derive(diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
    #[diesel(postgres_type(name = "stock_request_status"))]
    pub struct StockRequestStatus;

    #[derive(diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
    #[diesel(postgres_type(name = "mail_template"))]
    pub struct MailTemplate;

    #[derive(diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
    #[diesel(postgres_type(name = "mail_status"))]
    pub struct MailStatus;
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::RoleEnum;

    users (id) {
        id -> Int8,
        email -> Varchar,
        full_name -> Varchar,
        phone -> Nullable<Varchar>,
        password_hash -> Varchar,
        role -> RoleEnum,
        membership_tier -> Varchar,
        default_branch_id -> Nullable<Int8>,
        is_active -> Bool,
        token_version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    branches (id) {
        id -> Int8,
        name -> Varchar,
        address -> Varchar,
        is_active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    audit (id) {
        id -> Int8,
        entity_type -> Varchar,
        entity_id -> Int8,
        action -> Varchar,
        old_value -> Nullable<Jsonb>,
        new_value -> Nullable<Jsonb>,
        context -> Nullable<Jsonb>,
        actor_user_id -> Nullable<Int8>,
        request_id -> Nullable<Varchar>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::TokenType;

    revoked_tokens (jti) {
        jti -> Uuid,
        user_id -> Int8,
        token_type -> TokenType,
        expires_at -> Timestamptz,
        revoked_at -> Timestamptz,
    }
}

diesel::joinable!(users -> branches (default_branch_id));
diesel::joinable!(audit -> users (actor_user_id));
diesel::joinable!(revoked_tokens -> users (user_id));

diesel::table! {
    categories (id) {
        id -> Int8,
        name -> Varchar,
        description -> Nullable<Text>,
        icon_slug -> Nullable<Varchar>,
        is_active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    products (id) {
        id -> Int8,
        name -> Varchar,
        sku -> Varchar,
        category_id -> Int8,
        price -> Numeric,
        old_price -> Nullable<Numeric>,
        unit -> Nullable<Varchar>,
        nutritional_info -> Nullable<Jsonb>,
        is_organic -> Bool,
        description -> Nullable<Text>,
        bin_location -> Nullable<Varchar>,
        image_url -> Nullable<Varchar>,
        is_active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    inventory (id) {
        id -> Int8,
        product_id -> Int8,
        branch_id -> Int8,
        available_quantity -> Int4,
        reserved_quantity -> Int4,
        reorder_point -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    delivery_slots (id) {
        id -> Int8,
        branch_id -> Int8,
        day_of_week -> Int2,
        start_time -> Time,
        end_time -> Time,
        is_active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    global_settings (id) {
        id -> Int2,
        delivery_min -> Numeric,
        delivery_fee -> Numeric,
        free_threshold -> Numeric,
        updated_at -> Timestamptz,
        updated_by -> Nullable<Int8>,
    }
}

diesel::table! {
    wishlist_items (id) {
        id -> Int8,
        user_id -> Int8,
        product_id -> Int8,
        note -> Nullable<Varchar>,
        priority -> Nullable<Int4>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(products -> categories (category_id));
diesel::joinable!(inventory -> products (product_id));
diesel::joinable!(inventory -> branches (branch_id));
diesel::joinable!(delivery_slots -> branches (branch_id));
diesel::joinable!(wishlist_items -> products (product_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    branches,
    audit,
    revoked_tokens,
    categories,
    products,
    inventory,
    delivery_slots,
    global_settings,
    wishlist_items,
    carts,
    cart_items,
    payment_tokens,
    orders,
    order_items,
    order_delivery_details,
    order_pickup_details,
    payments,
    idempotency_keys,
    stock_requests
);

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::CartStatus;

    carts (id) {
        id -> Int8,
        user_id -> Int8,
        status -> CartStatus,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    cart_items (id) {
        id -> Int8,
        cart_id -> Int8,
        product_id -> Int8,
        quantity -> Int4,
        unit_price -> Numeric,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(cart_items -> carts (cart_id));
diesel::joinable!(cart_items -> products (product_id));

diesel::table! {
    payment_tokens (id) {
        id -> Int8,
        user_id -> Int8,
        provider -> Varchar,
        provider_token -> Varchar,
        brand -> Nullable<Varchar>,
        last4 -> Nullable<Varchar>,
        exp_month -> Nullable<Int4>,
        exp_year -> Nullable<Int4>,
        is_default -> Bool,
        is_active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::{FulfillmentType, OrderStatus, PaymentStatus};

    orders (id) {
        id -> Int8,
        order_number -> Varchar,
        user_id -> Int8,
        subtotal_amount -> Numeric,
        delivery_fee -> Numeric,
        total_amount -> Numeric,
        fulfillment_type -> FulfillmentType,
        status -> OrderStatus,
        payment_status -> PaymentStatus,
        branch_id -> Nullable<Int8>,
        payment_token_id -> Nullable<Int8>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        delivered_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::PickedStatus;

    order_items (id) {
        id -> Int8,
        order_id -> Int8,
        product_id -> Int8,
        name -> Varchar,
        sku -> Varchar,
        unit_price -> Numeric,
        quantity -> Int4,
        picked_status -> PickedStatus,
        picked_by -> Nullable<Int8>,
        picked_at -> Nullable<Timestamptz>,
        removed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    order_delivery_details (id) {
        id -> Int8,
        order_id -> Int8,
        delivery_slot_id -> Nullable<Int8>,
        address -> Varchar,
        slot_start -> Nullable<Timestamptz>,
        slot_end -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    order_pickup_details (id) {
        id -> Int8,
        order_id -> Int8,
        branch_id -> Int8,
        pickup_window_start -> Timestamptz,
        pickup_window_end -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::PaymentStatus;

    payments (id) {
        id -> Int8,
        order_id -> Int8,
        payment_token_id -> Nullable<Int8>,
        provider -> Varchar,
        provider_payment_id -> Nullable<Varchar>,
        provider_idempotency_key -> Varchar,
        status -> PaymentStatus,
        amount_authorized -> Numeric,
        amount_captured -> Numeric,
        amount_refunded -> Numeric,
        failure_code -> Nullable<Varchar>,
        failure_message -> Nullable<Varchar>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        pending_amount -> Nullable<Numeric>,
        provider_refund_id -> Nullable<Varchar>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::IdempotencyStatus;

    idempotency_keys (id) {
        id -> Int8,
        user_id -> Int8,
        key -> Varchar,
        request_hash -> Varchar,
        status -> IdempotencyStatus,
        response_payload -> Nullable<Jsonb>,
        status_code -> Nullable<Int4>,
        order_id -> Nullable<Int8>,
        expires_at -> Timestamptz,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(order_items -> orders (order_id));

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::{StockRequestStatus, StockRequestType};

    stock_requests (id) {
        id -> Int8,
        branch_id -> Int8,
        product_id -> Int8,
        quantity -> Int4,
        requested_quantity -> Int4,
        request_type -> StockRequestType,
        status -> StockRequestStatus,
        actor_user_id -> Int8,
        reviewed_by -> Nullable<Int8>,
        reviewed_at -> Nullable<Timestamptz>,
        rejection_reason -> Nullable<Varchar>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(stock_requests -> branches (branch_id));
diesel::joinable!(stock_requests -> products (product_id));

diesel::table! {
    order_item_damage_reports (id) {
        id -> Int8,
        order_id -> Int8,
        order_item_id -> Int8,
        reason -> Varchar,
        notes -> Nullable<Varchar>,
        reported_by -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    ops_batches (id) {
        id -> Int8,
        created_by -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    ops_batch_orders (batch_id, order_id) {
        batch_id -> Int8,
        order_id -> Int8,
    }
}

// Accounts: the address book, reset tokens, registration codes and the mail outbox.

diesel::table! {
    addresses (id) {
        id -> Int8,
        user_id -> Int8,
        address_line -> Varchar,
        city -> Varchar,
        country -> Varchar,
        postal_code -> Varchar,
        latitude -> Nullable<Float8>,
        longitude -> Nullable<Float8>,
        is_default -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    password_reset_tokens (id) {
        id -> Int8,
        user_id -> Int8,
        token_hash -> Varchar,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    registration_otps (id) {
        id -> Int8,
        email -> Varchar,
        code_hash -> Varchar,
        attempts -> Int4,
        expires_at -> Timestamptz,
        is_used -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::{MailStatus, MailTemplate};

    mail_outbox (id) {
        id -> Int8,
        message_key -> Uuid,
        template -> MailTemplate,
        recipient -> Varchar,
        params -> Nullable<Jsonb>,
        replace_key -> Nullable<Varchar>,
        status -> MailStatus,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        claim_id -> Nullable<Uuid>,
        claimed_until -> Nullable<Timestamptz>,
        last_error -> Nullable<Varchar>,
        expires_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(addresses -> users (user_id));
diesel::joinable!(password_reset_tokens -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    addresses,
    password_reset_tokens,
    registration_otps,
    mail_outbox
);
