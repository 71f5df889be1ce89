//! The statements this process sends to PostgreSQL, counted as diesel starts them (an
//! [`Instrumentation`] on every pooled connection): the budget test reads the count per
//! request, and `RUST_LOG=mami_postgres::sql=trace` logs each statement.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use diesel::connection::{Instrumentation, InstrumentationEvent};

/// The tally shared by a pool's connections.
#[derive(Debug, Default)]
pub struct StatementTally {
    sent: AtomicU64,
    recording: AtomicBool,
    recorded: Mutex<Vec<String>>,
    prepared: Mutex<HashSet<String>>,
}

impl StatementTally {
    /// Statements started since the pool was built (transaction control and the pool's
    /// connection checks included; a new connection's own setup is not).
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Starts keeping the text of every statement (for a test's breakdown).
    pub fn record(&self) {
        self.recording.store(true, Ordering::Relaxed);
    }

    /// The statements kept since the last call, oldest first.
    pub fn take_recorded(&self) -> Vec<String> {
        std::mem::take(&mut *self.recorded.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Whether `sql` was prepared for a connection's statement cache (on any connection):
    /// such a statement is parsed and planned once per connection, then only executed.
    /// Statements diesel prepares afresh on every execution never are.
    pub fn is_prepared(&self, sql: &str) -> bool {
        let prepared = self.prepared.lock().unwrap_or_else(PoisonError::into_inner);
        prepared.contains(sql)
    }

    /// Notes a statement entering a connection's cache (once per statement and connection).
    fn cached(&self, sql: &str) {
        let mut prepared = self.prepared.lock().unwrap_or_else(PoisonError::into_inner);
        if !prepared.contains(sql) {
            prepared.insert(sql.to_owned());
        }
    }

    /// Counts one statement; its text is only rendered when it is logged or kept.
    fn started(&self, query: &dyn std::fmt::Display) {
        self.sent.fetch_add(1, Ordering::Relaxed);
        tracing::trace!(target: "mami_postgres::sql", "{query}");
        if self.recording.load(Ordering::Relaxed) {
            let text = query.to_string();
            let sql = text
                .split(" -- binds:")
                .next()
                .unwrap_or_default()
                .to_owned();
            let mut recorded = self.recorded.lock().unwrap_or_else(PoisonError::into_inner);
            recorded.push(sql);
        }
    }
}

/// The instrumentation each connection carries.
pub(crate) fn counter(tally: Arc<StatementTally>) -> impl Instrumentation {
    move |event: InstrumentationEvent<'_>| match event {
        InstrumentationEvent::StartQuery { query, .. } => tally.started(query),
        InstrumentationEvent::CacheQuery { sql, .. } => tally.cached(sql),
        _ => {}
    }
}
