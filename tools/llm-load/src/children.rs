//! The child processes: the mock upstream (this binary's `upstream` subcommand) and the gateway
//! (`llm-server`). Each is killed when its handle drops.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context;

use crate::cli::GatewayArgs;
use crate::client;
use crate::gateway_config::{self, ConfigOptions, Scenario};

/// A child process, killed (and reaped) on drop.
pub struct ChildProcess {
    child: Child,
    name: &'static str,
}

impl ChildProcess {
    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// An error when it has exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => anyhow::bail!("the {} exited: {status}", self.name),
            Err(error) => Err(error).with_context(|| format!("watching the {}", self.name)),
        }
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The mock's settings as a child process.
pub struct UpstreamSettings {
    /// The mock's delay before answering.
    pub latency_ms: u64,
    pub chunks: u32,
    pub chunk_delay_ms: u64,
    pub workers: usize,
}

/// Starts `llm-load upstream` and reads its address from its first line.
pub fn spawn_upstream(settings: &UpstreamSettings) -> anyhow::Result<(ChildProcess, SocketAddr)> {
    let exe = std::env::current_exe().context("locating this binary")?;
    let mut child = Command::new(exe)
        .args(["upstream", "--bind", "127.0.0.1:0"])
        .args(["--latency-ms", &settings.latency_ms.to_string()])
        .args(["--chunks", &settings.chunks.to_string()])
        .args(["--chunk-delay-ms", &settings.chunk_delay_ms.to_string()])
        .args(["--workers", &settings.workers.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .context("starting the mock upstream")?;
    let stdout = child.stdout.take().context("the mock's standard output")?;
    let process = ChildProcess {
        child,
        name: "mock upstream",
    };
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .context("reading the mock's address")?;
    let address = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|address| address.parse().ok())
        .with_context(|| format!("the mock printed {line:?}, not `listening on ADDR`"))?;
    Ok((process, address))
}

/// `--server-bin`, else `llm-server` next to this binary, else in `$CARGO_TARGET_DIR/release` or
/// `./target/release`.
pub fn server_bin(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit {
        anyhow::ensure!(path.is_file(), "--server-bin {} is not a file", path.display());
        return Ok(path.to_path_buf());
    }
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    {
        candidates.push(dir.join("llm-server"));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    candidates.push(target.join("release").join("llm-server"));
    candidates
        .iter()
        .find(|path| path.is_file())
        .cloned()
        .with_context(|| {
            format!(
                "no llm-server binary at {candidates:?}: run `cargo build --release -p llm-server` \
                 or pass --server-bin"
            )
        })
}

/// A port free right now on 127.0.0.1 (the OS picks it; the gateway binds it just after).
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr().context("the free port")?.port())
}

/// A scratch directory for configs and logs, unique to this process.
pub fn scratch_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("llm-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// A running gateway and where its log goes.
pub struct Gateway {
    pub process: ChildProcess,
    pub address: SocketAddr,
    pub log: PathBuf,
}

/// The mock upstream (no latency) and a gateway in the default configuration in front of it: the
/// setup of `soak`, `streams` and `floor`.
pub struct DefaultSetup {
    pub upstream: ChildProcess,
    pub upstream_address: SocketAddr,
    pub gateway: Gateway,
}

/// Starts a [`DefaultSetup`]; the gateway's files are named after `name`.
pub async fn spawn_default_setup(
    args: &GatewayArgs,
    name: &str,
    chunks: u32,
    chunk_delay_ms: u64,
    cache_off: bool,
) -> anyhow::Result<DefaultSetup> {
    let server_bin = server_bin(args.server_bin.as_deref())?;
    let (upstream, upstream_address) = spawn_upstream(&UpstreamSettings {
        latency_ms: 0,
        chunks,
        chunk_delay_ms,
        workers: args.upstream_workers,
    })?;
    let config = gateway_config::render(
        Scenario::Default,
        &ConfigOptions {
            upstream: upstream_address,
            redis_url: &args.redis_url,
            cache_off,
        },
    );
    let gateway = spawn_gateway(&server_bin, name, &config).await?;
    Ok(DefaultSetup {
        upstream,
        upstream_address,
        gateway,
    })
}

/// Writes `config` to the scratch directory, starts the gateway on it with `LLM_LOG=warn` and
/// waits until `/llm/health` answers 200.
pub async fn spawn_gateway(bin: &Path, name: &str, config: &str) -> anyhow::Result<Gateway> {
    let dir = scratch_dir()?;
    let config_path = dir.join(format!("{name}.toml"));
    std::fs::write(&config_path, config).with_context(|| format!("writing {}", config_path.display()))?;
    let log = dir.join(format!("{name}.log"));
    let log_file = std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
    let address = SocketAddr::from(([127, 0, 0, 1], free_port()?));
    let child = Command::new(bin)
        .arg("--config")
        .arg(&config_path)
        .args(["--bind", &address.to_string(), "--log-format", "json"])
        .env("LLM_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log_file))
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let mut process = ChildProcess {
        child,
        name: "gateway",
    };
    let ready = client::wait_until_ok(address, "/llm/health", Duration::from_secs(30), || {
        process.check_alive()
    })
    .await;
    if let Err(error) = ready {
        anyhow::bail!("{error:#}\ngateway log ({}):\n{}", log.display(), log_tail(&log));
    }
    Ok(Gateway {
        process,
        address,
        log,
    })
}

/// The last lines of a log file, for error messages and the report.
pub fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// How to get nginx when `--nginx-bin` is not there.
const NGINX_INSTALL_HINT: &str = "install it with `sudo apt-get install -y nginx` (Debian/Ubuntu; then \
     `sudo service nginx stop` so the packaged service does not keep port 80), or pass --nginx-bin PATH";

/// `path` when it is a file, else an error that says how to install nginx.
pub fn nginx_bin(path: &Path) -> anyhow::Result<PathBuf> {
    anyhow::ensure!(
        path.is_file(),
        "no nginx at {}: {NGINX_INSTALL_HINT}",
        path.display()
    );
    Ok(path.to_path_buf())
}

/// What `nginx -v` says (`nginx/1.22.1`), for the report.
pub fn nginx_version(bin: &Path) -> String {
    Command::new(bin)
        .arg("-v")
        .stdin(Stdio::null())
        .output()
        .ok()
        .map(|output| {
            let text = String::from_utf8_lossy(&output.stderr).into_owned();
            text.trim()
                .strip_prefix("nginx version: ")
                .unwrap_or(text.trim())
                .to_owned()
        })
        .unwrap_or_else(|| "nginx (version unknown)".to_owned())
}

/// The nginx configuration: a plain reverse proxy of everything to `upstream`, HTTP/1.1 keep-alive
/// to it (a pool of 64 idle connections), no buffering (streams pass chunk by chunk), no access
/// log; every path nginx writes lives in `dir`.
pub fn render_nginx_config(
    dir: &Path,
    listen: SocketAddr,
    upstream: SocketAddr,
    worker_processes: &str,
) -> String {
    let dir = dir.display();
    format!(
        "# Written by llm-load floor: nginx as a plain reverse proxy to the mock upstream.\n\
         worker_processes {worker_processes};\n\
         pid {dir}/nginx.pid;\n\
         error_log {dir}/error.log warn;\n\
         events {{\n    worker_connections 4096;\n}}\n\
         http {{\n\
         \x20   access_log off;\n\
         \x20   client_body_temp_path {dir}/client_body;\n\
         \x20   proxy_temp_path {dir}/proxy;\n\
         \x20   fastcgi_temp_path {dir}/fastcgi;\n\
         \x20   uwsgi_temp_path {dir}/uwsgi;\n\
         \x20   scgi_temp_path {dir}/scgi;\n\
         \x20   keepalive_requests 1000000;\n\
         \x20   upstream mock {{\n\
         \x20       server {upstream};\n\
         \x20       keepalive 64;\n\
         \x20       keepalive_requests 1000000;\n\
         \x20   }}\n\
         \x20   server {{\n\
         \x20       listen {listen};\n\
         \x20       location / {{\n\
         \x20           proxy_pass http://mock;\n\
         \x20           proxy_http_version 1.1;\n\
         \x20           proxy_set_header Connection \"\";\n\
         \x20           proxy_buffering off;\n\
         \x20       }}\n\
         \x20   }}\n\
         }}\n"
    )
}

/// nginx as a child process (`daemon off`, so the child is the master), stopped on drop.
pub struct Nginx {
    process: ChildProcess,
    pub address: SocketAddr,
    /// The master and its workers, as found once nginx answered.
    pub pids: Vec<u32>,
    pub error_log: PathBuf,
    pub config: String,
}

/// Writes the configuration to a scratch directory, starts nginx on it with `-c CONF -p DIR -g
/// 'daemon off;'` and waits until a request through it reaches the mock (`GET /v1/models`).
pub async fn spawn_nginx(bin: &Path, upstream: SocketAddr, worker_processes: &str) -> anyhow::Result<Nginx> {
    let dir = scratch_dir()?.join("nginx");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let address = SocketAddr::from(([127, 0, 0, 1], free_port()?));
    let config = render_nginx_config(&dir, address, upstream, worker_processes);
    let config_path = dir.join("nginx.conf");
    std::fs::write(&config_path, &config).with_context(|| format!("writing {}", config_path.display()))?;
    let stderr_path = dir.join("stderr.log");
    let stderr =
        std::fs::File::create(&stderr_path).with_context(|| format!("creating {}", stderr_path.display()))?;
    let child = Command::new(bin)
        .arg("-c")
        .arg(&config_path)
        .arg("-p")
        .arg(&dir)
        .args(["-g", "daemon off;"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(stderr))
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let mut process = ChildProcess { child, name: "nginx" };
    let error_log = dir.join("error.log");
    let ready = client::wait_until_ok(address, "/v1/models", Duration::from_secs(10), || {
        process.check_alive()
    })
    .await;
    if let Err(error) = ready {
        anyhow::bail!(
            "{error:#}\nnginx standard error ({}):\n{}\nnginx error log ({}):\n{}",
            stderr_path.display(),
            log_tail(&stderr_path),
            error_log.display(),
            log_tail(&error_log)
        );
    }
    let master = process.pid();
    let mut pids = vec![master];
    pids.extend(crate::proc_stats::children_of(master)?);
    Ok(Nginx {
        process,
        address,
        pids,
        error_log,
        config,
    })
}

impl Nginx {
    /// An error when the master has exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        self.process.check_alive()
    }
}

impl Drop for Nginx {
    /// A fast shutdown (SIGTERM to the master, which stops its workers), then SIGKILL to whatever
    /// is left of the master and the workers after 3 s.
    fn drop(&mut self) {
        let master = self.process.pid();
        let _ = Command::new("kill")
            .args(["-TERM", &master.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        while std::time::Instant::now() < deadline {
            if !matches!(self.process.child.try_wait(), Ok(None)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.process.child.kill();
        let _ = self.process.child.wait();
        for &worker in self.pids.iter().skip(1) {
            let still_nginx = std::fs::read_to_string(format!("/proc/{worker}/comm"))
                .is_ok_and(|name| name.trim() == "nginx");
            if still_nginx {
                let _ = Command::new("kill")
                    .args(["-KILL", &worker.to_string()])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
        }
    }
}
