//! The idempotency record of a confirm (Stripe's contract): what a request finds under its key
//! decides whether it places an order, replays a stored outcome, resumes an order whose
//! authorization is unknown, or is refused.

use chrono::{DateTime, Duration, Utc};

use super::{CheckoutError, IdempotencyClaim, Settled};

/// How long a request may hold a key before a retry may take its order over.
pub const LEASE: Duration = Duration::seconds(30);

/// How long a key (and its stored outcome) lives.
pub const KEY_TTL: Duration = Duration::hours(24);

/// A key's row as read under its lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub request_hash: String,
    /// The final outcome, once the key holds one.
    pub settled: Option<Settled>,
    /// The order the key created, once it exists.
    pub order_id: Option<i64>,
    pub expires_at: DateTime<Utc>,
    /// When the holder last showed signs of life.
    pub updated_at: DateTime<Utc>,
}

/// What the request does with its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyState {
    /// The request's insert claimed the key: place the order.
    Claimed,
    /// The key expired: it starts afresh (new body, no outcome, no order) and the request
    /// places the order.
    Restart,
    /// The key holds a final outcome for this body: answer it again.
    Replay(Settled),
    /// The key's order was created but its authorization outcome is unknown, and its holder
    /// has been silent for [`LEASE`]: authorize it again with the same provider key.
    TakeOver { order_id: i64 },
}

/// Decides the key's state; `record` is `None` when the request's own insert claimed it.
/// Refuses a body other than the key's (`IdempotencyKeyMismatch`) and a key whose holder is
/// still working (`IdempotencyInProgress`).
pub fn key_state(
    record: Option<&KeyRecord>,
    claim: &IdempotencyClaim,
    now: DateTime<Utc>,
) -> Result<KeyState, CheckoutError> {
    let Some(record) = record else {
        return Ok(KeyState::Claimed);
    };
    if record.expires_at < now {
        return Ok(KeyState::Restart);
    }
    if record.request_hash != claim.request_hash {
        return Err(CheckoutError::IdempotencyKeyMismatch);
    }
    if let Some(settled) = &record.settled {
        return Ok(KeyState::Replay(settled.clone()));
    }
    match record.order_id {
        Some(order_id) if record.updated_at <= now - LEASE => Ok(KeyState::TakeOver { order_id }),
        _ => Err(CheckoutError::IdempotencyInProgress),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkout::Decline;

    fn claim() -> IdempotencyClaim {
        IdempotencyClaim {
            key: "k".into(),
            request_hash: "h".into(),
        }
    }

    fn record(now: DateTime<Utc>) -> KeyRecord {
        KeyRecord {
            request_hash: "h".into(),
            settled: None,
            order_id: Some(9),
            expires_at: now + KEY_TTL,
            updated_at: now,
        }
    }

    fn declined() -> Settled {
        Settled::Declined(Decline {
            order_id: 9,
            decline_code: "card_declined".into(),
            message: String::new(),
        })
    }

    #[test]
    fn a_fresh_claim_places_the_order() {
        assert_eq!(key_state(None, &claim(), Utc::now()), Ok(KeyState::Claimed));
    }

    #[test]
    fn a_stored_outcome_is_replayed() {
        let now = Utc::now();
        let r = KeyRecord {
            settled: Some(declined()),
            ..record(now)
        };
        assert_eq!(
            key_state(Some(&r), &claim(), now),
            Ok(KeyState::Replay(declined()))
        );
    }

    #[test]
    fn another_body_is_refused_even_with_an_outcome() {
        let now = Utc::now();
        let r = KeyRecord {
            request_hash: "other".into(),
            settled: Some(declined()),
            ..record(now)
        };
        assert_eq!(
            key_state(Some(&r), &claim(), now),
            Err(CheckoutError::IdempotencyKeyMismatch)
        );
    }

    #[test]
    fn a_working_holder_keeps_its_key_for_the_lease() {
        let now = Utc::now();
        let busy = KeyRecord {
            updated_at: now - LEASE + Duration::seconds(1),
            ..record(now)
        };
        assert_eq!(
            key_state(Some(&busy), &claim(), now),
            Err(CheckoutError::IdempotencyInProgress)
        );
        let no_order = KeyRecord {
            order_id: None,
            updated_at: now - Duration::hours(1),
            ..record(now)
        };
        assert_eq!(
            key_state(Some(&no_order), &claim(), now),
            Err(CheckoutError::IdempotencyInProgress),
            "no order to take over"
        );
    }

    #[test]
    fn a_silent_holders_order_is_taken_over() {
        let now = Utc::now();
        let silent = KeyRecord {
            updated_at: now - LEASE,
            ..record(now)
        };
        assert_eq!(
            key_state(Some(&silent), &claim(), now),
            Ok(KeyState::TakeOver { order_id: 9 })
        );
    }

    #[test]
    fn an_expired_key_restarts_whatever_it_held() {
        let now = Utc::now();
        let expired = KeyRecord {
            request_hash: "other".into(),
            settled: Some(declined()),
            expires_at: now - Duration::seconds(1),
            ..record(now)
        };
        assert_eq!(
            key_state(Some(&expired), &claim(), now),
            Ok(KeyState::Restart)
        );
    }
}
