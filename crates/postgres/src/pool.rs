//! The connections: one shared pool, and with HTTP workers one pool per worker thread.
//!
//! tokio-postgres drives each connection from a task on the runtime that opened it, and actix
//! runs one single-threaded runtime per worker. A worker using a connection that another thread
//! opened hands every statement to that thread and gets every answer back through it: each
//! round trip then needs the other thread scheduled too, on a machine whose cores are busy
//! with PostgreSQL and the other worker. A worker bound to a pool of its own
//! ([`Pools::bind_this_thread`], called on each worker's thread as its app is built) only ever
//! uses connections it opened. Threads that are not bound (start-up, the reconciler, the mail
//! worker, the tests) share the first pool.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::deadpool::Pool;

use crate::PoolStatus;

/// Each `Pools` gets its own id, so that a thread may serve several (the tests run several
/// apps in one process).
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// The worker pool each [`Pools`] (by id) bound to this thread.
    static BOUND: RefCell<Vec<(u64, usize)>> = const { RefCell::new(Vec::new()) };
}

/// How `max` connections are split between the shared pool and `workers` worker pools: the
/// shared pool keeps 3 where `max` allows, each worker pool gets an equal part of the rest,
/// what does not divide evenly stays shared, and every pool has at least one (so a `max`
/// below `workers` + 1 is exceeded). Three, because the background work on unbound threads
/// holds one for good (the reconciler's leadership is a session advisory lock on a pooled
/// connection) and needs one for the reconciler's pass and one for the mail worker's, which
/// may run at the same time.
pub(crate) fn split(max: usize, workers: usize) -> (usize, usize) {
    if workers == 0 {
        return (max.max(1), 0);
    }
    let each = (max.saturating_sub(max.min(3)) / workers).max(1);
    let shared = max.saturating_sub(each * workers).max(1);
    (shared, each)
}

pub(crate) struct Pools {
    id: u64,
    shared: Pool<AsyncPgConnection>,
    workers: Vec<Pool<AsyncPgConnection>>,
    next: AtomicUsize,
}

impl Pools {
    pub(crate) fn new(
        shared: Pool<AsyncPgConnection>,
        workers: Vec<Pool<AsyncPgConnection>>,
    ) -> Self {
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            shared,
            workers,
            next: AtomicUsize::new(0),
        }
    }

    /// The pool of the calling thread.
    pub(crate) fn current(&self) -> &Pool<AsyncPgConnection> {
        let bound = BOUND.with_borrow(|b| b.iter().find(|(id, _)| *id == self.id).map(|b| b.1));
        bound
            .and_then(|i| self.workers.get(i))
            .unwrap_or(&self.shared)
    }

    /// Binds the calling thread to the next worker pool (round robin); false when there are
    /// none. Binding a thread again moves it to the next pool.
    pub(crate) fn bind_this_thread(&self) -> bool {
        if self.workers.is_empty() {
            return false;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.workers.len();
        BOUND.with_borrow_mut(|b| {
            b.retain(|(id, _)| *id != self.id);
            b.push((self.id, i));
        });
        let thread = std::thread::current();
        tracing::debug!(
            pool = i,
            thread = thread.name(),
            "thread bound to its connection pool"
        );
        true
    }

    /// The worker pools a thread may be bound to.
    pub(crate) fn worker_pools(&self) -> usize {
        self.workers.len()
    }

    /// All pools together.
    pub(crate) fn status(&self) -> PoolStatus {
        let mut total = PoolStatus {
            max_size: 0,
            open: 0,
            idle: 0,
            waiting: 0,
        };
        for pool in std::iter::once(&self.shared).chain(&self.workers) {
            let s = pool.status();
            total.max_size += s.max_size;
            total.open += s.size;
            total.idle += s.available;
            total.waiting += s.waiting;
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn the_connections_are_split_between_shared_and_worker_pools() {
        assert_eq!(split(16, 0), (16, 0));
        assert_eq!(split(16, 2), (4, 6));
        assert_eq!(split(9, 2), (3, 3));
        assert_eq!(split(8, 2), (4, 2));
        assert_eq!(split(16, 4), (4, 3));
        // Every pool has at least one, even when that exceeds `max`.
        assert_eq!(split(1, 2), (1, 1));
        assert_eq!(split(3, 8), (1, 1));
        assert_eq!(split(0, 0), (1, 0));
    }
}
