//! [`PasswordHasher`] with argon2id (OWASP parameters), run off the async runtime.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{
    PasswordHash as PhcHash, PasswordHasher as _, PasswordVerifier as _, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use mami_domain::InfraError;
use mami_domain::identity::{PasswordHash, PasswordHasher};

/// argon2id with m = 19 MiB, t = 2, p = 1.
#[derive(Debug, Clone)]
pub struct Argon2Hasher {
    params: Params,
    dummy: String,
}

impl Argon2Hasher {
    pub fn new() -> Result<Self, InfraError> {
        let params = Params::new(19 * 1024, 2, 1, None)
            .map_err(|e| InfraError::new(format!("argon2 params: {e}")))?;
        let dummy = hash_blocking(&params, "dummy-password-for-timing-1")?;
        Ok(Self { params, dummy })
    }

    fn argon(params: &Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
    }

    /// Hashes synchronously (seed, tests).
    pub fn hash_now(&self, password: &str) -> Result<PasswordHash, InfraError> {
        hash_blocking(&self.params, password).map(PasswordHash)
    }
}

fn hash_blocking(params: &Params, password: &str) -> Result<String, InfraError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2Hasher::argon(params)
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| InfraError::new(format!("argon2 hash: {e}")))
}

fn verify_blocking(params: &Params, password: &str, hash: &str) -> bool {
    match PhcHash::new(hash) {
        Ok(parsed) => Argon2Hasher::argon(params)
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, InfraError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| InfraError::new(format!("hashing task failed: {e}")))
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: String) -> Result<PasswordHash, InfraError> {
        let params = self.params.clone();
        blocking(move || hash_blocking(&params, &password))
            .await?
            .map(PasswordHash)
    }

    async fn verify(&self, password: String, hash: PasswordHash) -> Result<bool, InfraError> {
        let params = self.params.clone();
        blocking(move || verify_blocking(&params, &password, &hash.0)).await
    }

    async fn verify_dummy(&self, password: String) -> Result<(), InfraError> {
        let params = self.params.clone();
        let dummy = self.dummy.clone();
        blocking(move || {
            verify_blocking(&params, &password, &dummy);
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() -> Result<(), InfraError> {
        let h = Argon2Hasher::new()?;
        let hash = h.hash("Secret123".into()).await?;
        assert!(hash.0.starts_with("$argon2id$"));
        assert!(h.verify("Secret123".into(), hash.clone()).await?);
        assert!(!h.verify("Secret124".into(), hash).await?);
        assert!(
            !h.verify("x".into(), PasswordHash("not-a-hash".into()))
                .await?
        );
        Ok(())
    }
}
