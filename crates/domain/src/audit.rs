//! The audit trail: one entry per changed entity, written by the adapter in the same
//! transaction as the change it describes.

use serde_json::Value;

use crate::identity::UserId;

/// Who asks, and under which request id: passed into every use case that changes state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    pub request_id: Option<String>,
    pub actor: Option<UserId>,
}

impl RequestContext {
    pub fn anonymous(request_id: Option<String>) -> Self {
        Self {
            request_id,
            actor: None,
        }
    }

    #[must_use]
    pub fn with_actor(mut self, actor: UserId) -> Self {
        self.actor = Some(actor);
        self
    }
}

/// Which row an audit entry talks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditTarget {
    /// An existing entity.
    Id(i64),
    /// The entity that the same port call creates; the adapter fills in its id.
    Created,
    /// Nothing identifiable (for example a failed login for an unknown e-mail); stored as 0.
    None,
}

/// An audit row as the domain describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub entity_type: &'static str,
    pub target: AuditTarget,
    pub action: &'static str,
    pub old_value: Option<Value>,
    pub new_value: Option<Value>,
    pub context: Option<Value>,
    pub actor: Option<UserId>,
    pub request_id: Option<String>,
}

impl AuditEntry {
    pub fn new(
        ctx: &RequestContext,
        entity_type: &'static str,
        target: AuditTarget,
        action: &'static str,
    ) -> Self {
        Self {
            entity_type,
            target,
            action,
            old_value: None,
            new_value: None,
            context: None,
            actor: ctx.actor,
            request_id: ctx.request_id.clone(),
        }
    }

    #[must_use]
    pub fn old(mut self, value: Value) -> Self {
        self.old_value = Some(value);
        self
    }

    #[must_use]
    pub fn new_value(mut self, value: Value) -> Self {
        self.new_value = Some(value);
        self
    }

    #[must_use]
    pub fn context(mut self, value: Value) -> Self {
        self.context = Some(value);
        self
    }

    /// Records a change from `old` to `new` (entity snapshots): only the fields that differ are
    /// kept; without `old` (a creation) the whole new snapshot is kept.
    #[must_use]
    pub fn with_change(mut self, old: Option<Value>, new: Option<Value>) -> Self {
        match (old, new) {
            (Some(Value::Object(o)), Some(Value::Object(n))) => {
                let mut before = serde_json::Map::new();
                let mut after = serde_json::Map::new();
                for (k, v) in &n {
                    let prev = o.get(k).cloned().unwrap_or(Value::Null);
                    if &prev != v {
                        before.insert(k.clone(), prev);
                        after.insert(k.clone(), v.clone());
                    }
                }
                self.old_value = Some(Value::Object(before));
                self.new_value = Some(Value::Object(after));
            }
            (old, new) => {
                self.old_value = old;
                self.new_value = new;
            }
        }
        self
    }

    #[must_use]
    pub fn actor(mut self, actor: Option<UserId>) -> Self {
        self.actor = actor;
        self
    }
}

/// Filters of the audit list; every field narrows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    pub entity_type: Option<String>,
    pub entity_id: Option<i64>,
    pub action: Option<String>,
    pub actor: Option<UserId>,
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    pub to: Option<chrono::DateTime<chrono::Utc>>,
}

/// A stored audit row, with the actor's e-mail when known.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub id: i64,
    pub entity_type: String,
    pub entity_id: i64,
    pub action: String,
    pub old_value: Option<Value>,
    pub new_value: Option<Value>,
    pub context: Option<Value>,
    pub actor_user_id: Option<i64>,
    pub actor_email: Option<String>,
    pub request_id: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Reading the audit trail.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait::async_trait]
pub trait AuditLog: Send + Sync {
    /// Rows matching `filter`, newest first, and how many match in all.
    async fn list(
        &self,
        filter: AuditFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<AuditRecord>, i64), crate::InfraError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn with_change_keeps_only_changed_fields() {
        let e = AuditEntry::new(
            &RequestContext::default(),
            "product",
            AuditTarget::Id(1),
            "UPDATE",
        )
        .with_change(
            Some(json!({"price": "6.90", "name": "Milk"})),
            Some(json!({"price": "7.20", "name": "Milk"})),
        );
        assert_eq!(e.old_value, Some(json!({"price": "6.90"})));
        assert_eq!(e.new_value, Some(json!({"price": "7.20"})));
        let c = AuditEntry::new(
            &RequestContext::default(),
            "product",
            AuditTarget::Created,
            "CREATE",
        )
        .with_change(None, Some(json!({"name": "Milk"})));
        assert_eq!(
            (c.old_value, c.new_value),
            (None, Some(json!({"name": "Milk"})))
        );
    }
}
