//! The mail outbox: [`enqueue`] inside a use case's transaction, and [`OutboxStore`] for the
//! deliverers (claims with `FOR UPDATE SKIP LOCKED` and a lease, so that several API processes
//! deliver side by side and one message has one deliverer at a time).

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Int4, Int8, Jsonb, Nullable, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use mami_domain::InfraError;
use mami_domain::mail::{MailMessage, OutboxMail, OutboxStore, Outgoing, Settlement};
use serde_json::Value;
use uuid::Uuid;

use crate::Database;
use crate::enums::{DbMailStatus, DbMailTemplate};
use crate::error::infra;
use crate::schema::mail_outbox as o;
use crate::schema::sql_types::MailTemplate as SqlMailTemplate;

/// Longest error text kept with a message.
const ERROR_CHARS: usize = 1000;

/// Writes `mail` to the outbox in the caller's transaction; with `replaces`, an unsent message
/// with the same key is canceled (and its parameters erased) first.
pub(crate) async fn enqueue(conn: &mut AsyncPgConnection, mail: &OutboxMail) -> QueryResult<()> {
    let now = Utc::now();
    if let Some(key) = &mail.replaces {
        diesel::update(
            o::table
                .filter(o::replace_key.eq(key))
                .filter(o::status.eq(DbMailStatus::Pending)),
        )
        .set((
            o::status.eq(DbMailStatus::Canceled),
            o::params.eq(None::<Value>),
            o::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    }
    let params: serde_json::Map<String, Value> = mail
        .message
        .params
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    diesel::insert_into(o::table)
        .values((
            o::template.eq(DbMailTemplate::from(mail.message.template)),
            o::recipient.eq(&mail.message.to),
            o::params.eq(Value::Object(params)),
            o::replace_key.eq(&mail.replaces),
            o::next_attempt_at.eq(now),
            o::expires_at.eq(mail.expires_at),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// A claimed row.
#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = Int8)]
    id: i64,
    #[diesel(sql_type = SqlUuid)]
    message_key: Uuid,
    #[diesel(sql_type = SqlMailTemplate)]
    template: DbMailTemplate,
    #[diesel(sql_type = diesel::sql_types::Varchar)]
    recipient: String,
    #[diesel(sql_type = Nullable<Jsonb>)]
    params: Option<Value>,
    #[diesel(sql_type = Int4)]
    attempts: i32,
    #[diesel(sql_type = Timestamptz)]
    expires_at: DateTime<Utc>,
}

impl Claimed {
    fn into_outgoing(self, claim: Uuid) -> Outgoing {
        let params: BTreeMap<String, String> = match self.params {
            Some(Value::Object(m)) => m
                .into_iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned())))
                .collect(),
            _ => BTreeMap::new(),
        };
        Outgoing {
            id: self.id,
            key: self.message_key.to_string(),
            claim: claim.to_string(),
            message: MailMessage {
                template: self.template.into(),
                to: self.recipient,
                params,
            },
            attempts: self.attempts,
            expires_at: self.expires_at,
        }
    }
}

/// The outbox in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgOutboxStore {
    db: Database,
}

impl PgOutboxStore {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl OutboxStore for PgOutboxStore {
    async fn expire(&self, now: DateTime<Utc>) -> Result<usize, InfraError> {
        let mut conn = self.db.conn().await?;
        let unclaimed = o::claimed_until.is_null().or(o::claimed_until.le(now));
        diesel::update(
            o::table
                .filter(o::status.eq(DbMailStatus::Pending))
                .filter(o::expires_at.le(now))
                .filter(unclaimed),
        )
        .set((
            o::status.eq(DbMailStatus::Expired),
            o::params.eq(None::<Value>),
            o::claim_id.eq(None::<Uuid>),
            o::claimed_until.eq(None::<DateTime<Utc>>),
            o::updated_at.eq(now),
        ))
        .execute(&mut conn)
        .await
        .map_err(infra)
    }

    async fn claim(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<Outgoing>, InfraError> {
        let mut conn = self.db.conn().await?;
        let claim = Uuid::new_v4();
        // One statement: the row is locked by the sub-select (rows locked by other deliverers
        // are skipped, not waited for), claimed and counted, and the claim commits at once.
        let row: Option<Claimed> = diesel::sql_query(
            "UPDATE mail_outbox \
             SET claim_id = $1, claimed_until = $3, attempts = attempts + 1, updated_at = $2 \
             WHERE id = ( \
               SELECT id FROM mail_outbox \
               WHERE status = 'PENDING' AND next_attempt_at <= $2 AND expires_at > $2 \
                 AND (claimed_until IS NULL OR claimed_until <= $2) \
               ORDER BY next_attempt_at, id \
               LIMIT 1 \
               FOR UPDATE SKIP LOCKED) \
             RETURNING id, message_key, template, recipient, params, attempts, expires_at",
        )
        .bind::<SqlUuid, _>(claim)
        .bind::<Timestamptz, _>(now)
        .bind::<Timestamptz, _>(now + lease)
        .get_result(&mut conn)
        .await
        .optional()
        .map_err(infra)?;
        Ok(row.map(|r| r.into_outgoing(claim)))
    }

    async fn settle(
        &self,
        id: i64,
        claim: String,
        outcome: Settlement,
        now: DateTime<Utc>,
    ) -> Result<bool, InfraError> {
        let Ok(claim) = Uuid::parse_str(&claim) else {
            return Ok(false);
        };
        let mut conn = self.db.conn().await?;
        let held = o::table
            .filter(o::id.eq(id))
            .filter(o::claim_id.eq(claim))
            .filter(o::status.eq(DbMailStatus::Pending));
        let released = (
            o::claim_id.eq(None::<Uuid>),
            o::claimed_until.eq(None::<DateTime<Utc>>),
            o::updated_at.eq(now),
        );
        let clip = |e: String| e.chars().take(ERROR_CHARS).collect::<String>();
        let query = diesel::update(held);
        let n = match outcome {
            Settlement::Sent => {
                query
                    .set((
                        o::status.eq(DbMailStatus::Sent),
                        o::params.eq(None::<Value>),
                        o::sent_at.eq(now),
                        o::last_error.eq(None::<String>),
                        released,
                    ))
                    .execute(&mut conn)
                    .await
            }
            Settlement::Retry { at, error } => {
                query
                    .set((
                        o::next_attempt_at.eq(at),
                        o::last_error.eq(clip(error)),
                        released,
                    ))
                    .execute(&mut conn)
                    .await
            }
            Settlement::Failed { error } => {
                query
                    .set((
                        o::status.eq(DbMailStatus::Failed),
                        o::params.eq(None::<Value>),
                        o::last_error.eq(clip(error)),
                        released,
                    ))
                    .execute(&mut conn)
                    .await
            }
        }
        .map_err(infra)?;
        Ok(n == 1)
    }
}
