//! Diesel table definitions, kept in step with `migrations/` by hand (the `schema_matches`
//! test in `mami-tests` compares them with the migrated database).

pub mod sql_types {
    #[derive(diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
    #[diesel(postgres_type(name = "role_enum"))]
    pub struct RoleEnum;

    #[derive(diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
    #[diesel(postgres_type(name = "token_type"))]
    pub struct TokenType;
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
diesel::allow_tables_to_appear_in_same_query!(users, branches, audit, revoked_tokens);
