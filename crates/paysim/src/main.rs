//! `mami-paysim [--bind 127.0.0.1:12111]`: the payment-provider simulator (see the library docs).

use std::net::TcpListener;

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "mami-paysim",
    about = "In-memory Stripe-compatible payment provider for development and tests"
)]
struct Cli {
    /// Address to listen on (loopback by default).
    #[arg(long, env = "PAYSIM_BIND", default_value = "127.0.0.1:12111")]
    bind: String,
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let cli = Cli::parse();
    let listener = TcpListener::bind(&cli.bind)?;
    eprintln!(
        "mami-paysim: listening on http://{}",
        listener.local_addr()?
    );
    let (_handle, server) = mami_paysim::serve(listener, 2)?;
    server.await
}
