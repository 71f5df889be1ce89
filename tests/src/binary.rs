//! The real `mami-api` binary as child processes: one function starts a `serve` process and
//! waits for its health answer, for the first process of a test and for any further one.

use std::net::TcpListener;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::app::test_env;
use crate::backend::Backend;
use crate::db::TestDb;
use crate::http::client;

/// The `mami-api` binary running as a child process on a fresh seeded database. It
/// dereferences to its [`Backend`] (address, client, database, scenario builders).
pub struct BinaryApp {
    pub backend: Backend,
    pub child: Child,
    pub stderr_path: PathBuf,
    bin: String,
    env: Vec<(String, String)>,
    extra: Vec<(Child, PathBuf)>,
}

impl Deref for BinaryApp {
    type Target = Backend;

    fn deref(&self) -> &Backend {
        &self.backend
    }
}

/// Runs `mami-api serve` on a free loopback port with `env`, its stderr in `log`, and waits
/// until it answers `/health`. Returns the process and its address.
async fn serve(bin: &str, env: &[(String, String)], log: &Path) -> Result<(Child, String)> {
    let bind = format!(
        "127.0.0.1:{}",
        TcpListener::bind("127.0.0.1:0")?.local_addr()?.port()
    );
    let mut child = Command::new(bin)
        .arg("serve")
        .env_clear()
        .envs(env.iter().cloned())
        .env("BIND_ADDR", &bind)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log)?)
        .spawn()?;
    let address = format!("http://{bind}");
    let client = client()?;
    let started = Instant::now();
    while client
        .get(format!("{address}/api/v1/health"))
        .send()
        .await
        .is_err()
    {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "mami-api did not start on {bind}: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok((child, address))
}

impl BinaryApp {
    /// Migrates, seeds and serves with the real binary at `bin`.
    pub async fn spawn(bin: &str, extra: &[(&str, &str)]) -> Result<Self> {
        let test_db = TestDb::new().await?;
        let env = test_env(&test_db.url, extra);
        for cmd in ["migrate", "seed"] {
            let out = Command::new(bin)
                .arg(cmd)
                .env_clear()
                .envs(env.iter().cloned())
                .output()?;
            if !out.status.success() {
                bail!(
                    "mami-api {cmd} failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        let stderr_path = std::env::temp_dir().join(format!("{}.log", test_db.name));
        let (child, address) = serve(bin, &env, &stderr_path).await?;
        Ok(Self {
            backend: Backend {
                address,
                client: client()?,
                test_db,
            },
            child,
            stderr_path,
            bin: bin.to_owned(),
            env,
            extra: Vec::new(),
        })
    }

    /// Starts one more `mami-api serve` process on the same database; returns its address.
    pub async fn another_process(&mut self) -> Result<String> {
        let log = std::env::temp_dir().join(format!(
            "{}-{}.log",
            self.test_db.name,
            self.extra.len() + 2
        ));
        let (child, address) = serve(&self.bin, &self.env, &log).await?;
        self.extra.push((child, log));
        Ok(address)
    }

    /// Kills every process of this app at once (no drain), as a crash or a power cut would.
    /// Further processes can be started with [`BinaryApp::another_process`].
    pub fn kill_all(&mut self) {
        for (c, _) in &mut self.extra {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// What the first process wrote to stderr (its logs).
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }
}

impl Drop for BinaryApp {
    fn drop(&mut self) {
        for (c, log) in &mut self.extra {
            let _ = c.kill();
            let _ = c.wait();
            let _ = std::fs::remove_file(log);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.stderr_path);
    }
}
