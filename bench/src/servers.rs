//! The registries under test: how to start each on 127.0.0.1 with a fresh data directory, and
//! what it costs (CPU seconds and resident memory, read from /proc).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// A registry implementation the bench can start.
#[derive(Debug, Clone)]
pub struct Kind {
    pub name: String,
    program: PathBuf,
    style: Style,
}

#[derive(Debug, Clone, Copy)]
enum Style {
    Wharf,
    /// CNCF distribution (2.8 and v3 share the config format).
    Distribution,
}

impl Kind {
    pub fn wharf(program: PathBuf) -> Kind {
        Kind {
            name: "wharf".into(),
            program,
            style: Style::Wharf,
        }
    }

    pub fn distribution(name: &str, program: PathBuf) -> Kind {
        Kind {
            name: name.into(),
            program,
            style: Style::Distribution,
        }
    }

    /// Starts the registry on `port` with data under `dir`; returns once `GET /v2/` answers 200.
    pub async fn start(&self, dir: &Path, port: u16) -> anyhow::Result<Running> {
        std::fs::create_dir_all(dir)?;
        let mut cmd = Command::new(&self.program);
        match self.style {
            Style::Wharf => {
                cmd.args([
                    "serve",
                    "--listen",
                    &format!("127.0.0.1:{port}"),
                    "--log-level",
                    "error",
                    "--data-dir",
                ])
                .arg(dir.join("data"));
            }
            Style::Distribution => {
                let config = dir.join("config.yml");
                std::fs::write(
                    &config,
                    format!(
                        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
                        dir.join("data").display()
                    ),
                )?;
                cmd.arg("serve").arg(&config);
            }
        }
        let started = Instant::now();
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", self.program.display()))?;
        let mut running = Running {
            child,
            base: format!("http://127.0.0.1:{port}"),
            startup: Duration::ZERO,
        };
        let http = reqwest::Client::new();
        let deadline = started + Duration::from_secs(30);
        loop {
            if let Ok(r) = http.get(format!("{}/v2/", running.base)).send().await {
                if r.status() == 200 {
                    running.startup = started.elapsed();
                    return Ok(running);
                }
            }
            if Instant::now() > deadline {
                bail!("{} did not answer /v2/ within 30 s", self.name);
            }
            if let Some(status) = running.child.try_wait()? {
                bail!("{} exited during startup: {status}", self.name);
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

/// A started registry.
pub struct Running {
    child: Child,
    pub base: String,
    pub startup: Duration,
}

/// Clock ticks per second of /proc/<pid>/stat times (Linux uses 100 on every common platform).
const TICKS_PER_SEC: f64 = 100.0;

impl Running {
    /// CPU seconds the server has used (user + system).
    pub fn cpu_seconds(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command name (which may contain spaces) start after the last ')'.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (ticks(11) + ticks(12)) / TICKS_PER_SEC
    }

    /// (current, peak) resident memory in bytes.
    pub fn memory(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let kib = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .unwrap_or(0)
                * 1024
        };
        (kib("VmRSS:"), kib("VmHWM:"))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
