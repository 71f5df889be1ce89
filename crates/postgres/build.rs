//! Rebuilds the crate when a migration is added: `embed_migrations!` compiles `migrations/`
//! into the binary, but cargo only tracks the files it has already seen.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
