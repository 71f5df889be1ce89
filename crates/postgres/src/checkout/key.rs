//! The idempotency key's row: claiming it, reading it under its lock, tying it to its order,
//! storing the final outcome or releasing it.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use mami_domain::InfraError;
use mami_domain::checkout::{
    CheckoutError, IdempotencyClaim, KEY_TTL, KeyRecord, Receipt, Settled,
};
use mami_domain::identity::UserId;
use serde::Deserialize;
use serde_json::Value;

use crate::enums::DbIdempotencyStatus;
use crate::error::Tx;
use crate::schema::idempotency_keys as ik;
use crate::sql::prepared;

/// A stored outcome. This version writes [`Settled`] (and leaves `status_code` NULL); rows
/// written before it hold the HTTP answer — `{"data": receipt}` with 201, or the 402 error
/// envelope. Those expire within 24 h of the upgrade and are read here until then.
#[derive(Deserialize)]
#[serde(untagged)]
enum Stored {
    Current(Settled),
    LegacyCreated { data: Receipt },
    LegacyDeclined { error: LegacyDecline },
}

#[derive(Deserialize)]
struct LegacyDecline {
    message: String,
    details: LegacyDeclineDetails,
}

#[derive(Deserialize)]
struct LegacyDeclineDetails {
    decline_code: String,
    order_id: i64,
}

fn stored(payload: Value) -> Result<Settled, InfraError> {
    let stored: Stored = serde_json::from_value(payload)
        .map_err(|e| InfraError::new(format!("unreadable idempotency outcome: {e}")))?;
    Ok(match stored {
        Stored::Current(settled) => settled,
        Stored::LegacyCreated { data } => Settled::Created(data),
        Stored::LegacyDeclined { error } => Settled::Declined(mami_domain::checkout::Decline {
            order_id: error.details.order_id,
            decline_code: error.details.decline_code,
            message: error.message,
        }),
    })
}

type Row = (
    i64,
    String,
    DbIdempotencyStatus,
    Option<Value>,
    Option<i64>,
    DateTime<Utc>,
    DateTime<Utc>,
);

/// Claims the user's key with an insert, or — when it exists — locks its row. Returns the
/// row id and, for an existing key, what it holds (`None`: this request claimed it). A
/// concurrent claim of the same key waits on the unique index until the first commits.
pub(super) async fn claim(
    conn: &mut AsyncPgConnection,
    user: UserId,
    claim: &IdempotencyClaim,
    now: DateTime<Utc>,
) -> Result<(i64, Option<KeyRecord>), Tx<CheckoutError>> {
    let claimed: Option<i64> = diesel::insert_into(ik::table)
        .values((
            ik::user_id.eq(user.0),
            ik::key.eq(&claim.key),
            ik::request_hash.eq(&claim.request_hash),
            ik::expires_at.eq(now + KEY_TTL),
        ))
        .on_conflict((ik::user_id, ik::key))
        .do_nothing()
        .returning(ik::id)
        .get_result(conn)
        .await
        .optional()?;
    if let Some(id) = claimed {
        return Ok((id, None));
    }
    let (id, request_hash, status, payload, order_id, expires_at, updated_at): Row = ik::table
        .filter(ik::user_id.eq(user.0))
        .filter(ik::key.eq(&claim.key))
        .select((
            ik::id,
            ik::request_hash,
            ik::status,
            ik::response_payload,
            ik::order_id,
            ik::expires_at,
            ik::updated_at,
        ))
        .for_update()
        .first(conn)
        .await?;
    let settled = match (status, payload) {
        (DbIdempotencyStatus::InProgress, _) | (_, None) => None,
        (_, Some(payload)) => Some(stored(payload)?),
    };
    let record = KeyRecord {
        request_hash,
        settled,
        order_id,
        expires_at,
        updated_at,
    };
    Ok((id, Some(record)))
}

/// Starts an expired key afresh for this request's body.
pub(super) async fn restart(
    conn: &mut AsyncPgConnection,
    id: i64,
    claim: &IdempotencyClaim,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    prepared(diesel::update(ik::table.find(id)).set((
        ik::request_hash.eq(&claim.request_hash),
        ik::status.eq(DbIdempotencyStatus::InProgress),
        ik::response_payload.eq(None::<Value>),
        ik::status_code.eq(None::<i32>),
        ik::order_id.eq(None::<i64>),
        ik::expires_at.eq(now + KEY_TTL),
        ik::updated_at.eq(now),
    )))
    .execute(conn)
    .await
    .map(|_| ())
}

/// Renews the holder's lease and, with `order_id`, ties the key to the order it created.
pub(super) async fn hold(
    mut conn: &AsyncPgConnection,
    id: i64,
    order_id: Option<i64>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let row = ik::table.find(id);
    match order_id {
        Some(order) => {
            prepared(diesel::update(row).set((ik::order_id.eq(order), ik::updated_at.eq(now))))
                .execute(&mut conn)
                .await?
        }
        None => {
            prepared(diesel::update(row).set(ik::updated_at.eq(now)))
                .execute(&mut conn)
                .await?
        }
    };
    Ok(())
}

/// Stores the final outcome with the key of `order_id`; it is replayed from then on.
pub(super) async fn store(
    conn: &mut AsyncPgConnection,
    order_id: i64,
    settled: &Settled,
    now: DateTime<Utc>,
) -> Result<(), Tx<CheckoutError>> {
    let status = match settled {
        Settled::Created(_) => DbIdempotencyStatus::Succeeded,
        Settled::Declined(_) => DbIdempotencyStatus::Failed,
    };
    let payload = serde_json::to_value(settled)
        .map_err(|e| InfraError::new(format!("idempotency outcome: {e}")))?;
    prepared(
        diesel::update(ik::table.filter(ik::order_id.eq(order_id))).set((
            ik::status.eq(status),
            ik::response_payload.eq(payload),
            ik::status_code.eq(None::<i32>),
            ik::updated_at.eq(now),
        )),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends the lease of `order_id`'s key at once, so that a retry may take the order over.
pub(super) async fn release(conn: &mut AsyncPgConnection, order_id: i64) -> QueryResult<()> {
    prepared(
        diesel::update(ik::table.filter(ik::order_id.eq(order_id)))
            .set(ik::updated_at.eq(DateTime::<Utc>::UNIX_EPOCH)),
    )
    .execute(conn)
    .await
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use mami_domain::Money;
    use mami_domain::checkout::Decline;
    use serde_json::json;

    use super::*;

    #[test]
    fn outcomes_stored_by_the_previous_version_are_still_replayed() {
        let created = json!({"data": {"order_id": 9, "order_number": "ORD-9",
            "total_paid": "52.70", "payment_reference": "pi_1"}});
        assert_eq!(
            stored(created).ok(),
            Some(Settled::Created(Receipt {
                order_id: 9,
                order_number: "ORD-9".into(),
                total_paid: Money(5_270),
                payment_reference: "pi_1".into(),
            }))
        );
        let declined = json!({"error": {"code": "PAYMENT_DECLINED",
            "message": "The card was declined", "status_code": 402,
            "details": {"decline_code": "card_declined", "order_id": 9}}});
        assert_eq!(
            stored(declined).ok(),
            Some(Settled::Declined(Decline {
                order_id: 9,
                decline_code: "card_declined".into(),
                message: "The card was declined".into(),
            }))
        );
        assert!(stored(json!({"something": "else"})).is_err());
    }

    #[test]
    fn current_outcomes_round_trip() {
        let settled = Settled::Declined(Decline {
            order_id: 3,
            decline_code: "insufficient_funds".into(),
            message: String::new(),
        });
        let payload = serde_json::to_value(&settled).unwrap_or_default();
        assert_eq!(stored(payload).ok(), Some(settled));
    }
}
