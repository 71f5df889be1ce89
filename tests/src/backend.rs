//! What every served test app has, in-process or as the real binary: its address, a client,
//! and its own database. Scenario builders and typed reads hang off it (see `scenario` and
//! `facts`), so they serve `TestApp` and `BinaryApp` alike.

use anyhow::Result;
use diesel_async::AsyncPgConnection;
use mami_domain::identity::Role;
use serde_json::Value;

use crate::db::TestDb;
use crate::http::{Session, access_token, login};

/// A running API over a fresh seeded database.
pub struct Backend {
    pub address: String,
    pub client: reqwest::Client,
    pub test_db: TestDb,
}

impl Backend {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Logs in as the demo user of `role`; returns the `data` object of the response.
    pub async fn login(&self, role: Role) -> Result<Value> {
        login(&self.client, &self.address, role).await
    }

    /// Logs in as the demo user of `role` and returns the access token.
    pub async fn token(&self, role: Role) -> Result<String> {
        access_token(&self.login(role).await?)
    }

    /// The demo user of `role`, signed in.
    pub async fn session(&self, role: Role) -> Result<Session> {
        Ok(self.session_with(self.token(role).await?))
    }

    /// A session that sends `token`.
    pub fn session_with(&self, token: String) -> Session {
        Session::new(self.client.clone(), &self.address, token)
    }

    /// A separate database connection (concurrency tests need real, separate sessions).
    pub async fn conn(&self) -> Result<AsyncPgConnection> {
        self.test_db.connect().await
    }
}
