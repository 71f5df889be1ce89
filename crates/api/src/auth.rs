//! Authentication and authorisation at the edge: JWTs, argon2id hashing, the principal
//! extractor and role guards, and the random secrets of password resets and registration
//! codes.

pub mod extractor;
pub mod jwt;
pub mod password;
pub mod secrets;

pub use extractor::{Authenticated, require_roles};
pub use jwt::{IssuedTokens, TokenError, TokenIssuer};
pub use password::Argon2Hasher;
pub use secrets::HmacSecrets;
