//! Demo data: the warehouse, a store and one user per role. Safe to run again: rows that
//! exist (by name or e-mail) are left as they are.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use mami_domain::InfraError;
use mami_domain::identity::{PasswordHash, Role};

use crate::identity::DbRole;
use crate::schema::{branches, users};
use crate::{Database, error};

/// Name of the seeded warehouse branch (the delivery source).
pub const WAREHOUSE_NAME: &str = "Mami Central Warehouse";

/// The demo users, one per role; their password is [`DEMO_PASSWORD`].
pub const DEMO_USERS: [(&str, &str, Role); 4] = [
    ("customer@mami.local", "Dana Customer", Role::Customer),
    ("employee@mami.local", "Eli Employee", Role::Employee),
    ("manager@mami.local", "Maya Manager", Role::Manager),
    ("admin@mami.local", "Avi Admin", Role::Admin),
];

/// Password of every demo user (documented in the README; never use the seed in production).
pub const DEMO_PASSWORD: &str = "Mami2026!";

/// What the seed did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedReport {
    pub warehouse_id: i64,
    pub branches_created: usize,
    pub users_created: usize,
}

impl Database {
    /// Creates the minimum demo data. `hash` turns the demo password into a stored hash.
    pub async fn seed_minimum(
        &self,
        demo_password_hash: &PasswordHash,
    ) -> Result<SeedReport, InfraError> {
        let mut conn = self.conn().await?;
        conn.transaction(async |conn| {
            let mut branches_created = 0;
            for (name, address) in [
                (WAREHOUSE_NAME, "12 HaMelacha St, Rishon LeZion"),
                ("Mami Tel Aviv - Dizengoff", "50 Dizengoff St, Tel Aviv"),
            ] {
                branches_created += diesel::insert_into(branches::table)
                    .values((branches::name.eq(name), branches::address.eq(address)))
                    .on_conflict(branches::name)
                    .do_nothing()
                    .execute(conn)
                    .await?;
            }
            let warehouse_id: i64 = branches::table
                .filter(branches::name.eq(WAREHOUSE_NAME))
                .select(branches::id)
                .first(conn)
                .await?;
            let mut users_created = 0;
            for (email, name, role) in DEMO_USERS {
                users_created += diesel::insert_into(users::table)
                    .values((
                        users::email.eq(email),
                        users::full_name.eq(name),
                        users::password_hash.eq(&demo_password_hash.0),
                        users::role.eq(DbRole::from(role)),
                    ))
                    .on_conflict_do_nothing()
                    .execute(conn)
                    .await?;
            }
            Ok::<_, diesel::result::Error>(SeedReport {
                warehouse_id,
                branches_created,
                users_created,
            })
        })
        .await
        .map_err(error::infra)
    }
}
