//! Identity: users, roles, credentials, sessions and their revocation.

pub mod admin;
pub mod models;
pub mod ports;
pub mod profile;
pub mod recovery;
pub mod service;

pub use admin::{UserAdminService, UserDirectory, UserFilter, UserPatch};
pub use models::{
    Email, FullName, LoginPassword, NewPassword, PasswordHash, Phone, Principal, Role, TokenKind,
    User, UserId, normalize_email,
};
pub use ports::{IdentityStore, NewUser, PasswordHasher, SessionState, StoreError};
pub use profile::{ProfileError, ProfilePatch, ProfilePhone, ProfileService, ProfileStore};
pub use recovery::{
    RecoveryService, RecoverySettings, RecoveryStore, RegistrationCodeError, ResetPasswordError,
    SecretSource,
};
pub use service::{
    AuthError, ChangePasswordError, IdentityService, LoginError, RegisterError, Registration,
    TokenFacts,
};
