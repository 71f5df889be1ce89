//! [`PasswordHasher`] with argon2id (OWASP parameters), run off the async runtime, at most one
//! hash per core at a time.
//!
//! Each hash works in 19 MiB. Left to the blocking pool, a burst of logins ran hundreds of
//! hashes at once, and the allocator kept every thread's 19 MiB afterwards (32 logins took the
//! process from 27 MB to 650 MB). Here a hash runs only in a *lane*: a semaphore admits as many
//! hashes as lanes (one per core by default) and each lane owns its argon2 memory, allocated
//! once and reused, so the hashing memory is bounded by lanes × 19 MiB whatever the load and
//! the allocator never sees it churn. A hash that cannot get a lane within the queue timeout
//! fails as `Unavailable` (503 with `Retry-After`).
//!
//! The metrics (when the process keeps them) show the queue: hashes waiting for a lane, hashes
//! running, and hashes refused because the wait ran out.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash as PhcHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use async_trait::async_trait;
use mami_domain::InfraError;
use mami_domain::identity::{PasswordHash, PasswordHasher};
use tokio::sync::Semaphore;

const QUEUED: &str = "mami_password_hashes_queued";
const RUNNING: &str = "mami_password_hashes_running";
const REFUSED: &str = "mami_password_hashes_refused_total";

/// The `# HELP` lines of the hashing metrics.
pub(crate) fn describe_metrics() {
    metrics::describe_gauge!(QUEUED, "Password hashes waiting for a hashing lane");
    metrics::describe_gauge!(RUNNING, "Password hashes running in a lane");
    metrics::describe_counter!(
        REFUSED,
        "Password hashes refused (503) after waiting the queue timeout for a lane"
    );
}

/// One unit of a gauge for as long as it lives (also when its future is dropped mid-wait).
struct Held(metrics::Gauge);

impl Held {
    fn new(name: &'static str) -> Self {
        let gauge = metrics::gauge!(name);
        gauge.increment(1.0);
        Self(gauge)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// How many hashes may run at once, and how long one may wait for its turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashLimits {
    pub lanes: usize,
    pub queue_timeout: Duration,
}

impl HashLimits {
    /// One lane per core but one (at least one): a login flood takes every core but one, and
    /// the one left serves every other request.
    pub fn default_lanes() -> usize {
        std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
    }
}

impl Default for HashLimits {
    /// [`HashLimits::default_lanes`]; five seconds in the queue.
    fn default() -> Self {
        Self {
            lanes: Self::default_lanes(),
            queue_timeout: Duration::from_secs(5),
        }
    }
}

/// The lanes: the semaphore that admits a hash, and the argon2 memory of the lanes not in use.
#[derive(Debug)]
struct Lanes {
    admit: Arc<Semaphore>,
    idle_memory: Mutex<Vec<Vec<Block>>>,
    blocks: usize,
    queue_timeout: Duration,
}

impl Lanes {
    /// A lane's memory: an idle one, or a new one (at most one per admitted hash).
    fn take(&self) -> Vec<Block> {
        let idle = self
            .idle_memory
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        idle.unwrap_or_else(|| vec![Block::new(); self.blocks])
    }

    fn put_back(&self, memory: Vec<Block>) {
        self.idle_memory
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(memory);
    }
}

/// argon2id with m = 19 MiB, t = 2, p = 1.
#[derive(Debug, Clone)]
pub struct Argon2Hasher {
    params: Params,
    dummy: String,
    lanes: Arc<Lanes>,
}

fn argon(algorithm: Algorithm, version: Version, params: &Params) -> Argon2<'static> {
    Argon2::new(algorithm, version, params.clone())
}

fn failure(what: &str, e: impl std::fmt::Display) -> InfraError {
    InfraError::new(format!("argon2 {what}: {e}"))
}

/// Hashes `password` in `memory` with a new salt, as a PHC string.
fn hash_in(params: &Params, memory: &mut [Block], password: &str) -> Result<String, InfraError> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|e| failure("salt", e))?;
    let hasher = argon(Algorithm::Argon2id, Version::V0x13, params);
    let len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let output = Output::init_with(len, |out| {
        hasher
            .hash_password_into_with_memory(password.as_bytes(), salt_bytes, out, &mut *memory)
            .map_err(Into::into)
    })
    .map_err(|e| failure("hash", e))?;
    let phc = PhcHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| failure("params", e))?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `hash`, computed in `memory`. A hash that is not
/// argon2, or needs more memory than a lane holds, never matches.
fn verify_in(memory: &mut [Block], password: &str, hash: &str) -> bool {
    let Ok(phc) = PhcHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (phc.salt, phc.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(phc.algorithm) else {
        return false;
    };
    let version = match phc.version.map(Version::try_from) {
        None => Version::V0x13,
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&phc) else {
        return false;
    };
    let Some(memory) = memory.get_mut(..params.block_count()) else {
        tracing::warn!(
            m_cost = params.m_cost(),
            "a stored hash needs more memory than a lane"
        );
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let computed = Output::init_with(expected.len(), |out| {
        argon(algorithm, version, &params)
            .hash_password_into_with_memory(password.as_bytes(), salt_bytes, out, memory)
            .map_err(Into::into)
    });
    // `Output` compares in constant time.
    computed.is_ok_and(|c| c == expected)
}

impl Argon2Hasher {
    /// The default limits.
    pub fn new() -> Result<Self, InfraError> {
        Self::with_limits(HashLimits::default())
    }

    pub fn with_limits(limits: HashLimits) -> Result<Self, InfraError> {
        let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| failure("params", e))?;
        let lanes = Arc::new(Lanes {
            admit: Arc::new(Semaphore::new(limits.lanes.max(1))),
            idle_memory: Mutex::new(Vec::new()),
            blocks: params.block_count(),
            queue_timeout: limits.queue_timeout,
        });
        // The first lane's memory is made here, once, for the dummy hash that evens out the
        // timing of logins with an unknown e-mail.
        let mut memory = lanes.take();
        let dummy = hash_in(&params, &mut memory, "dummy-password-for-timing-1")?;
        lanes.put_back(memory);
        Ok(Self {
            params,
            dummy,
            lanes,
        })
    }

    /// Hashes synchronously, outside the lanes (seed, tests).
    pub fn hash_now(&self, password: &str) -> Result<PasswordHash, InfraError> {
        let mut memory = vec![Block::new(); self.params.block_count()];
        hash_in(&self.params, &mut memory, password).map(PasswordHash)
    }

    /// Runs `job` on a blocking thread in a lane, once one is free within the queue timeout.
    async fn in_lane<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Params, &mut [Block]) -> T + Send + 'static,
    ) -> Result<T, InfraError> {
        let lanes = self.lanes.clone();
        let queued = Held::new(QUEUED);
        let permit = tokio::time::timeout(lanes.queue_timeout, lanes.admit.clone().acquire_owned())
            .await
            .map_err(|_| {
                metrics::counter!(REFUSED).increment(1);
                InfraError::unavailable("every password-hashing lane is busy")
            })?
            .map_err(|e| failure("lanes", e))?;
        drop(queued);
        let running = Held::new(RUNNING);
        let params = self.params.clone();
        // The lane is released when the hash ends, even if the request is gone by then.
        tokio::task::spawn_blocking(move || {
            let _running = running;
            let mut memory = lanes.take();
            let out = job(&params, &mut memory);
            lanes.put_back(memory);
            drop(permit);
            out
        })
        .await
        .map_err(|e| failure("hashing task", e))
    }
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: String) -> Result<PasswordHash, InfraError> {
        self.in_lane(move |params, memory| hash_in(params, memory, &password))
            .await?
            .map(PasswordHash)
    }

    async fn verify(&self, password: String, hash: PasswordHash) -> Result<bool, InfraError> {
        self.in_lane(move |_, memory| verify_in(memory, &password, &hash.0))
            .await
    }

    async fn verify_dummy(&self, password: String) -> Result<(), InfraError> {
        let dummy = self.dummy.clone();
        self.in_lane(move |_, memory| {
            verify_in(memory, &password, &dummy);
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

    use super::*;

    #[test]
    fn by_default_one_core_is_left_to_the_rest_of_the_server() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(HashLimits::default().lanes, (cores - 1).max(1));
    }

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() -> Result<(), InfraError> {
        let h = Argon2Hasher::new()?;
        let hash = h.hash("Secret123".into()).await?;
        assert!(hash.0.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(h.verify("Secret123".into(), hash.clone()).await?);
        assert!(!h.verify("Secret124".into(), hash).await?);
        assert!(
            !h.verify("x".into(), PasswordHash("not-a-hash".into()))
                .await?
        );
        Ok(())
    }

    #[tokio::test]
    async fn hashes_are_those_of_the_argon2_crate() -> Result<(), InfraError> {
        // Stored hashes made by the crate's own API (older builds, the seed) keep verifying,
        // and ours verify with it.
        let h = Argon2Hasher::new()?;
        let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| failure("params", e))?;
        let reference = argon(Algorithm::Argon2id, Version::V0x13, &params);
        let salt = SaltString::generate(&mut OsRng);
        let theirs = reference
            .hash_password(b"Secret123", &salt)
            .map_err(|e| failure("hash", e))?
            .to_string();
        assert!(h.verify("Secret123".into(), PasswordHash(theirs)).await?);
        let ours = h.hash("Secret123".into()).await?;
        let parsed = PhcHash::new(&ours.0).map_err(|e| failure("parse", e))?;
        assert!(reference.verify_password(b"Secret123", &parsed).is_ok());
        // A hash asking for more memory than a lane has is refused, not computed.
        let big = Params::new(64 * 1024, 1, 1, None).map_err(|e| failure("params", e))?;
        let greedy = argon(Algorithm::Argon2id, Version::V0x13, &big)
            .hash_password(b"Secret123", &salt)
            .map_err(|e| failure("hash", e))?
            .to_string();
        assert!(!h.verify("Secret123".into(), PasswordHash(greedy)).await?);
        Ok(())
    }

    #[tokio::test]
    async fn a_hash_waits_for_a_lane_and_gives_up_with_unavailable() -> Result<(), InfraError> {
        let limits = HashLimits {
            lanes: 1,
            queue_timeout: Duration::from_millis(1),
        };
        let h = Argon2Hasher::with_limits(limits)?;
        // Hold the only lane.
        let held = h.lanes.admit.clone().acquire_owned().await;
        let refused = h.hash("Secret123".into()).await;
        assert!(
            matches!(&refused, Err(e) if e.is_unavailable()),
            "{refused:?}"
        );
        drop(held);
        assert!(h.hash("Secret123".into()).await.is_ok());
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn many_hashes_share_the_lanes_memory() -> Result<(), InfraError> {
        let limits = HashLimits {
            lanes: 2,
            queue_timeout: Duration::from_secs(60),
        };
        let h = Argon2Hasher::with_limits(limits)?;
        let hashes = (0..8).map(|i| h.hash(format!("Secret12{i}")));
        for r in futures_util::future::join_all(hashes).await {
            r?;
        }
        let idle = h
            .lanes
            .idle_memory
            .lock()
            .map(|m| m.len())
            .unwrap_or_default();
        assert!(idle <= 2, "{idle} lanes' memory for 2 lanes");
        Ok(())
    }
}
