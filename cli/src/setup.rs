//! Where a command's configuration comes from: a file, then environment
//! variables, then flags (later wins); and `--sim`, which starts the
//! simulator inside the process and points the client at it.

use std::path::PathBuf;

use clap::Args;
use ystpay::config::{parse_pairs, Settings, KEYS};
use ystpay::register::{Register, RegisterError, Wiring};
use ystpay_sim::{Device, RunningSim, SimConfig, Simulator};

/// The device the simulator knows without a configuration file.
pub fn demo_device() -> Device {
    Device::demo()
}

/// Options every command that talks to the platform takes.
#[derive(Args, Debug, Clone, Default)]
pub struct ConnOpts {
    /// Configuration file (INI key = value; `ystpay config --keys` lists the keys).
    /// Also YSTPAY_CONFIG.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// API URL (overrides server_url; also YSTPAY_SERVER_URL).
    #[arg(long, value_name = "URL")]
    pub server_url: Option<String>,
    /// Device account (overrides acct; also YSTPAY_ACCT).
    #[arg(long, value_name = "NAME")]
    pub acct: Option<String>,
    /// Register number 0-9999 (overrides register_no).
    #[arg(long, value_name = "N")]
    pub register_no: Option<u16>,
    /// Journal file, SQLite (overrides journal; also YSTPAY_JOURNAL).
    #[arg(long, value_name = "PATH")]
    pub journal: Option<PathBuf>,
    /// Daily log file (overrides log_file).
    #[arg(long, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
    /// Log level: off, error, info, debug (overrides log_level).
    #[arg(long, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Any configuration key, e.g. --set read_timeout_ms=5000 (repeatable).
    /// Secrets are better given in the file or as YSTPAY_PASS /
    /// YSTPAY_PRIVATE_KEY: command lines are visible to other users.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Run against a simulator started inside this process (demo device
    /// unless the configuration names another).
    #[arg(long)]
    pub sim: bool,
    /// With --sim: divide the simulator's waits by this factor.
    #[arg(long, value_name = "X", default_value_t = 1.0)]
    pub sim_time_scale: f64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// A failure before anything was sent.
#[derive(Debug)]
pub struct SetupError(pub String);

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A ready connection.
pub struct Conn {
    /// The effective settings.
    pub settings: Settings,
    /// The register they describe: client, log (off unless configured),
    /// the journal (kept in memory when none is configured) and its flows.
    pub register: Register,
    /// The embedded simulator, kept alive while the command runs.
    pub sim: Option<RunningSim>,
}

const NON_FILE: usize = 1_000_000;

/// `(key, value, line)` as [`Settings::from_pairs`] takes them.
type Pairs = Vec<(String, String, usize)>;

/// The gathered pairs, a name for each non-file source, and the file's name.
struct Gathered {
    pairs: Pairs,
    sources: Vec<String>,
    file_name: String,
}

/// The `(key, value, line)` pairs from file, environment and flags, and a
/// name for each non-file source (indexed by `line - NON_FILE`).
fn gather(opts: &ConnOpts) -> Result<Gathered, SetupError> {
    let mut pairs = Vec::new();
    let mut sources = Vec::new();
    let config = config_file(opts);
    let mut file_name = String::from("configuration");
    if let Some(path) = &config {
        file_name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| SetupError(format!("cannot read {file_name}: {e}")))?;
        pairs = parse_pairs(&text).map_err(|e| SetupError(format!("{file_name}: {e}")))?;
    }
    let mut add = |key: &str, value: String, source: String| {
        pairs.push((key.to_string(), value, NON_FILE + sources.len()));
        sources.push(source);
    };
    for (key, _) in KEYS {
        let var = format!("YSTPAY_{}", key.to_ascii_uppercase());
        if let Ok(v) = std::env::var(&var) {
            add(key, v, var);
        }
    }
    let flags: [(&str, Option<String>, &str); 6] = [
        ("server_url", opts.server_url.clone(), "--server-url"),
        ("acct", opts.acct.clone(), "--acct"),
        (
            "register_no",
            opts.register_no.map(|n| n.to_string()),
            "--register-no",
        ),
        (
            "log_file",
            opts.log_file.as_ref().map(|p| p.display().to_string()),
            "--log-file",
        ),
        ("log_level", opts.log_level.clone(), "--log-level"),
        (
            "journal",
            opts.journal.as_ref().map(|p| p.display().to_string()),
            "--journal",
        ),
    ];
    for (key, value, flag) in flags {
        if let Some(v) = value {
            add(key, v, flag.to_string());
        }
    }
    for kv in &opts.set {
        let Some((k, v)) = kv.split_once('=') else {
            return Err(SetupError(format!(
                "--set takes KEY=VALUE, got '{}'",
                kv.split(['=', ' ']).next().unwrap_or("")
            )));
        };
        let key = k.trim().to_ascii_lowercase();
        add(&key, v.trim().to_string(), format!("--set {key}"));
    }
    Ok(Gathered {
        pairs,
        sources,
        file_name,
    })
}

fn settings_from(g: Gathered) -> Result<Settings, SetupError> {
    let Gathered {
        pairs,
        sources,
        file_name,
    } = g;
    Settings::from_pairs(pairs).map_err(|e| {
        let msg = if e.line >= NON_FILE {
            format!(
                "{}: {}",
                sources.get(e.line - NON_FILE).map_or("?", String::as_str),
                e.message
            )
        } else if e.line > 0 {
            format!("{file_name} line {}: {}", e.line, e.message)
        } else {
            let hint = e
                .message
                .strip_prefix('\'')
                .and_then(|m| m.split_once('\''))
                .map(|(key, _)| {
                    format!(
                        " (give it in a --config file, as YSTPAY_{}, or use --sim)",
                        key.to_ascii_uppercase()
                    )
                })
                .unwrap_or_default();
            format!("{}{hint}", e.message)
        };
        SetupError(msg)
    })
}

/// The settings `ystpay doctor` checks, and its configuration lines: an
/// unknown key is named (with its file line or source) instead of
/// stopping the check.
pub fn doctor_settings(
    opts: &ConnOpts,
) -> Result<(Option<Settings>, Vec<ystpay::doctor::Line>), SetupError> {
    let g = gather(opts)?;
    let name = |line: usize| {
        if line >= NON_FILE {
            g.sources
                .get(line - NON_FILE)
                .cloned()
                .unwrap_or_else(|| "?".into())
        } else {
            format!("{} line {line}", g.file_name)
        }
    };
    Ok(ystpay::doctor::settings_from_pairs(g.pairs.clone(), &name))
}

/// The settings a command runs with, without connecting (for `ystpay
/// config`), and which secret keys (`pass`, `private_key`, `dsn`) have
/// their effective value stored protected (`dpapi:…`, [`ystpay::protect`]).
pub fn settings_and_protected(opts: &ConnOpts) -> Result<(Settings, Vec<String>), SetupError> {
    let g = gather(opts)?;
    let mut protected = Vec::new();
    for key in ["pass", "private_key", "dsn"] {
        let last = g
            .pairs
            .iter()
            .rev()
            .find(|(k, _, _)| k == key || (key == "pass" && k == "password"));
        if last.is_some_and(|(_, v, _)| ystpay::protect::is_protected(v)) {
            protected.push(key.to_string());
        }
    }
    Ok((settings_from(g)?, protected))
}

/// The configuration file a command reads: --config, else YSTPAY_CONFIG.
pub fn config_file(opts: &ConnOpts) -> Option<PathBuf> {
    opts.config
        .clone()
        .or_else(|| std::env::var_os("YSTPAY_CONFIG").map(PathBuf::from))
}

/// A warning when the configuration file at `path` holds plain secrets that
/// other users of this machine can read (Unix: group or others may read
/// it). Windows has no such bits; there the secrets can be protected
/// instead (`ystpay config --protect`).
pub fn exposure_warning(path: &std::path::Path) -> Option<String> {
    let text = ystpay::config::read_file(path).ok()?;
    let plain = ystpay::protect::plain_secrets(&text);
    if plain.is_empty() {
        return None;
    }
    let keys = plain.join(", ");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o044 != 0).then(|| {
            format!(
                "warning: {p} holds {keys} in plain text and other users can read it (mode {mode:03o}): chmod 600 {p}                  (警告：此文件以明文保存密钥，其他用户可读取)",
                p = path.display()
            )
        })
    }
    #[cfg(windows)]
    {
        Some(format!(
            "note: {p} holds {keys} in plain text: `ystpay config --protect {p}` protects them for this machine              (提示：可用 --protect 加密保护密钥)",
            p = path.display()
        ))
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = keys;
        None
    }
}

/// Starts a simulator for `--sim`, knowing the demo device and, when the
/// configuration has a password, the configured device too.
pub fn start_sim(
    pairs: &mut Pairs,
    time_scale: f64,
    notify_url: Option<String>,
) -> Result<RunningSim, SetupError> {
    let get = |pairs: &Pairs, k: &str| {
        pairs
            .iter()
            .rev()
            .find(|(key, _, _)| {
                key == k || (k == "acct" && key == "account") || (k == "pass" && key == "password")
            })
            // A protected secret is given to the simulator plain; one that
            // cannot be read here stays as it is, and the settings name why.
            .map(|(_, v, _)| {
                ystpay::protect::reveal(v).map_or_else(|_| v.clone(), |p| p.to_string())
            })
    };
    let demo = demo_device();
    let mut devices = vec![demo.clone()];
    match (get(pairs, "acct"), get(pairs, "pass"), get(pairs, "private_key")) {
        (Some(acct), Some(pass), Some(key)) if acct != demo.acct => devices.push(Device {
            merchant: acct.clone(),
            acct,
            pass,
            private_key: key,
        }),
        (None, None, None) => {
            pairs.retain(|(k, _, _)| k != "dsn");
            pairs.push(("acct".into(), demo.acct.clone(), 0));
            pairs.push(("pass".into(), demo.pass.clone(), 0));
            pairs.push(("private_key".into(), demo.private_key.clone(), 0));
        }
        (Some(acct), _, _) if acct == demo.acct => {}
        _ => {
            return Err(SetupError(
                "--sim needs acct, pass and private_key together (or none of them, for the demo device)".into(),
            ))
        }
    }
    let sim = Simulator::start(SimConfig {
        devices,
        time_scale,
        notify_url,
        ..SimConfig::default()
    })
    .map_err(|e| SetupError(format!("cannot start the simulator: {e}")))?;
    pairs.retain(|(k, _, _)| k != "server_url" && k != "allow_http");
    pairs.push(("server_url".into(), sim.api_url(), 0));
    Ok(sim)
}

/// Builds the settings, the optional simulator, the log and the client.
pub fn connect(opts: &ConnOpts) -> Result<Conn, SetupError> {
    let mut g = gather(opts)?;
    let sim = if opts.sim {
        if !(opts.sim_time_scale.is_finite() && opts.sim_time_scale > 0.0) {
            return Err(SetupError(
                "--sim-time-scale must be a positive number".into(),
            ));
        }
        Some(start_sim(&mut g.pairs, opts.sim_time_scale, None)?)
    } else {
        None
    };
    let settings = settings_from(g)?;
    let wiring = Wiring {
        memory_journal: true,
        ..Wiring::default()
    };
    let register = Register::open(&settings, wiring).map_err(|e| match &settings.journal {
        Some(path) if matches!(e, RegisterError::Flow(ystpay::flow::FlowError::Journal(_))) => {
            SetupError(format!("journal {}: {e}", path.display()))
        }
        _ => SetupError(e.to_string()),
    })?;
    Ok(Conn {
        settings,
        register,
        sim,
    })
}

/// The journal file a command names (`--journal`, `YSTPAY_JOURNAL`, or
/// `journal` in the configuration file), without needing the rest of the
/// configuration: listing a journal needs no server.
pub fn journal_path(opts: &ConnOpts) -> Result<PathBuf, SetupError> {
    let g = gather(opts)?;
    g.pairs
        .iter()
        .rev()
        .find(|(k, v, _)| k == "journal" && !v.is_empty())
        .map(|(_, v, _)| PathBuf::from(v))
        .ok_or_else(|| {
            SetupError(
                "no journal: give --journal PATH, YSTPAY_JOURNAL, or journal = PATH in the --config file"
                    .into(),
            )
        })
}
