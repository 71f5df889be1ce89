//! Test harness: a private PostgreSQL (started by `deploy/local-pg.sh` unless
//! `MAMI_TEST_DATABASE_URL` names a server), one migrated template database per schema
//! version, one fresh database cloned from it per test, the real app served in-process
//! (`TestApp`) or as the real `mami-api` binary (`BinaryApp`), and scenario builders and
//! typed reads so that tests read as what happens: a shopper with a cart and a card, stock at
//! a branch, a slot, then what the API answered and what the database holds.

mod app;
mod backend;
mod binary;
mod db;
pub mod demo;
mod facts;
mod fulfilment;
mod http;
mod mail;
mod scenario;
mod shopper;

use std::path::PathBuf;

pub use app::{Paysim, TestApp, mail_dir, test_env};
pub use backend::Backend;
pub use binary::BinaryApp;
pub use db::{TestDb, base_url, seed};
pub use facts::{AuditRow, Label, OrderRow, PaymentRow, Rows, StockLevel};
pub use fulfilment::{Fulfil, OpsCalls, PaidOrder, PaymentState};
pub use http::{
    Reply, Session, access_token, client, content_type, demo_email, each, error_code, log_in,
    login, send,
};
pub use mail::{OutboxRow, RecordingMailer, TestClock};
pub use mami_postgres::seed::{DEMO_PASSWORD, DEMO_USERS};
pub use reqwest;
pub use scenario::{AuditFailure, PastOrder, SlotBuilder, Stock};
pub use serde_json;
pub use shopper::{Race, Shopper, ShopperBuilder, confirm_all, delivery, pickup};

/// Root of the repository.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}
