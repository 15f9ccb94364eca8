//! `ystpay doctor` and `ystpay_doctor`: support's first phone call, one
//! check per line, each ✓ or ✗ with the fix in 中文 and English
//! (docs/DESIGN.md, *The doctor*).
//!
//! The checks, in order: the configuration (unknown keys, the key/pass
//! format, the URL's scheme and host); the name (DNS), the connection
//! (TCP), the proxy when one is set, TLS for `https://` (the certificate
//! judged by the register's clock); the register's clock against the
//! platform's HTTP `Date` and the journal's newest serial; the credentials,
//! proven by one harmless signed query (API §4.2) of a serial that cannot
//! exist; the journal (opens, `PRAGMA quick_check`, free disk, open
//! operations and their age); the log folder; the retention settings.
//!
//! Every network step is bounded by the connect timeout, so the whole
//! finishes within a few seconds. No line ever holds a secret: the private
//! key, the password and the dsn are never written, and the platform's
//! words are the only text that comes from outside.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::client::{Client, ClientConfig};
use crate::config::{parse_pairs, Settings, KEYS};
use crate::error::{Error, Rejection, CHECK_CREDENTIALS};
use crate::journal::Journal;
use crate::protocol::messages::QueryPayRequest;
use crate::transport::{
    certificate_time_error, HttpSettings, HttpTransport, TransportError, CHECK_CLOCK,
};

/// Largest skew between the register's clock and the platform's `Date`
/// that passes (the issue's five minutes: beyond it, business days, serials
/// and certificates start to go wrong).
pub const MAX_SKEW: Duration = Duration::from_secs(5 * 60);
/// How far the journal's newest serial may lie ahead of the clock before it
/// is named: beyond it the clock was once far ahead (or is behind now).
pub const MAX_SERIAL_AHEAD: Duration = Duration::from_secs(60 * 60);
/// Free disk below this on the journal's volume is named.
pub const MIN_FREE_BYTES: u64 = 50 * 1024 * 1024;
/// An open operation older than this is named: recovery should have
/// settled it.
pub const MAX_OPEN_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// One checked line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// ✓ (true) or ✗.
    pub ok: bool,
    /// What was checked: `config`, `server_url`, `credentials_format`,
    /// `dns`, `tcp`, `proxy`, `tls`, `clock`, `serials`, `credentials`,
    /// `journal`, `disk`, `open_operations`, `log`, `retention`.
    pub check: &'static str,
    /// What was found.
    pub found: String,
    /// The fix, 中文 / English (empty for a ✓).
    pub fix: String,
}

impl Line {
    fn ok(check: &'static str, found: impl Into<String>) -> Line {
        Line {
            ok: true,
            check,
            found: found.into(),
            fix: String::new(),
        }
    }

    fn bad(check: &'static str, found: impl Into<String>, fix: impl Into<String>) -> Line {
        Line {
            ok: false,
            check,
            found: found.into(),
            fix: fix.into(),
        }
    }
}

/// The doctor's report.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// Every line, in order.
    pub lines: Vec<Line>,
    /// How long the checks took.
    pub elapsed: Duration,
}

impl Report {
    /// True when every line is ✓.
    pub fn all_ok(&self) -> bool {
        self.lines.iter().all(|l| l.ok)
    }

    /// How many lines are ✗.
    pub fn failed(&self) -> usize {
        self.lines.iter().filter(|l| !l.ok).count()
    }

    /// The text: one line per check, `✓ check: found` or `✗ check: found`
    /// followed by an indented `→ fix`, then a summary line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for l in &self.lines {
            out.push_str(&format!(
                "{} {:<18} {}\n",
                if l.ok { "✓" } else { "✗" },
                l.check,
                l.found
            ));
            if !l.ok && !l.fix.is_empty() {
                out.push_str(&format!("    → {}\n", l.fix));
            }
        }
        let n = self.failed();
        out.push_str(&if n == 0 {
            format!(
                "全部通过 / all {} checks passed ({} ms)\n",
                self.lines.len(),
                self.elapsed.as_millis()
            )
        } else {
            format!(
                "{n} 项未通过 / {n} of {} checks failed ({} ms)\n",
                self.lines.len(),
                self.elapsed.as_millis()
            )
        });
        out
    }

    /// The same lines for tools: `{"ok", "elapsed_ms", "lines": [{"check",
    /// "ok", "found", "fix"}]}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "ok": self.all_ok(),
            "elapsed_ms": self.elapsed.as_millis() as u64,
            "lines": self.lines.iter().map(|l| serde_json::json!({
                "check": l.check,
                "ok": l.ok,
                "found": l.found,
                "fix": l.fix,
            })).collect::<Vec<_>>(),
        })
    }
}

/// The configuration lines of INI text (`ystpay doctor` reads the file):
/// every unknown key named with its line, then the settings the known keys
/// make, when they make one. `line_name` names where a pair came from
/// (its `line` as given; e.g. "line 12" or "YSTPAY_PASS").
pub fn settings_from_pairs(
    pairs: Vec<(String, String, usize)>,
    line_name: &dyn Fn(usize) -> String,
) -> (Option<Settings>, Vec<Line>) {
    let known =
        |k: &str| KEYS.iter().any(|(key, _)| *key == k) || k == "account" || k == "password";
    let mut lines = Vec::new();
    let unknown: Vec<String> = pairs
        .iter()
        .filter(|(k, _, _)| !known(k))
        .map(|(k, _, line)| format!("'{k}' ({})", line_name(*line)))
        .collect();
    let pairs: Vec<_> = pairs.into_iter().filter(|(k, _, _)| known(k)).collect();
    if !unknown.is_empty() {
        lines.push(Line::bad(
            "config",
            format!("unknown key {}", unknown.join(", ")),
            "删除或改正拼写错误的设置项（`ystpay config --keys` 列出全部）/ remove or correct the misspelt key (`ystpay config --keys` lists them)",
        ));
    }
    match Settings::from_pairs(pairs) {
        Ok(s) => {
            if unknown.is_empty() {
                lines.push(Line::ok("config", "every key is known"));
            }
            (Some(s), lines)
        }
        Err(e) => {
            let at = if e.line > 0 {
                format!("{}: ", line_name(e.line))
            } else {
                String::new()
            };
            lines.push(Line::bad(
                "config",
                format!("{at}{}", e.message),
                "按提示改正配置文件 / correct the configuration as the message says",
            ));
            (None, lines)
        }
    }
}

/// [`settings_from_pairs`] for the text of one INI file.
pub fn settings_from_ini(text: &str) -> (Option<Settings>, Vec<Line>) {
    match parse_pairs(text) {
        Ok(pairs) => settings_from_pairs(pairs, &|n| format!("line {n}")),
        Err(e) => (
            None,
            vec![Line::bad(
                "config",
                e.to_string(),
                "按提示改正配置文件 / correct the configuration file as the message says",
            )],
        ),
    }
}

/// Runs every check for `settings`, after `config_lines` (what reading the
/// configuration found). `journal`: the register's open journal (the C
/// ABI's client); `None` opens the configured one, if any.
pub fn run(settings: &Settings, config_lines: Vec<Line>, journal: Option<&Journal>) -> Report {
    let started = Instant::now();
    let mut lines = config_lines;
    if lines.is_empty() {
        lines.push(Line::ok("config", "every key is known"));
    }
    let c = &settings.client;
    let url_ok = match c.check_server_url() {
        Ok(()) => {
            lines.push(Line::ok("server_url", scheme_and_host(&c.server_url)));
            true
        }
        Err(e) => {
            lines.push(Line::bad(
                "server_url",
                e.to_string(),
                "server_url 应为 https://主机/ystpay/service/unitive.api / server_url should be https://host/ystpay/service/unitive.api",
            ));
            false
        }
    };
    let creds_ok = match c.check_credentials() {
        Ok(()) => {
            lines.push(Line::ok(
                "credentials_format",
                format!(
                    "acct '{}', private_key of {} characters, {}",
                    c.account,
                    c.private_key.len(),
                    if c.dsn.is_some() {
                        "dsn given"
                    } else {
                        "pass given"
                    }
                ),
            ));
            true
        }
        Err(e) => {
            lines.push(Line::bad(
                "credentials_format",
                e.to_string(),
                format!("核对平台发给本设备的资料 / compare with the device's papers from the platform: {CHECK_CREDENTIALS}"),
            ));
            false
        }
    };
    let opened;
    let journal = match journal {
        Some(j) => Some(j),
        None => match &settings.journal {
            Some(path) => match Journal::open(path) {
                Ok(j) => {
                    opened = j;
                    Some(&opened)
                }
                Err(e) => {
                    lines.push(Line::bad(
                        "journal",
                        format!("cannot open {}: {e}", path.display()),
                        "确认日志库所在文件夹存在且可写 / make sure the journal's folder exists and is writable",
                    ));
                    None
                }
            },
            None => None,
        },
    };
    if url_ok {
        network(c, &mut lines, creds_ok, journal);
    }
    journal_lines(settings, journal, &mut lines);
    lines.push(log_line(settings));
    lines.push(retention_line(settings));
    Report {
        lines,
        elapsed: started.elapsed(),
    }
}

fn scheme_and_host(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split(['/', '?']).next().unwrap_or("");
    format!("{scheme}://{host}")
}

/// The host and port of `url` (brackets of an IPv6 literal removed).
fn host_port(url: &str) -> Option<(String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let auth = rest.split(['/', '?']).next()?;
    let auth = auth.rsplit_once('@').map_or(auth, |(_, h)| h);
    let default = if scheme.eq_ignore_ascii_case("https") {
        443
    } else {
        80
    };
    let (host, port) = if let Some(v6) = auth.strip_prefix('[') {
        let (h, after) = v6.split_once(']')?;
        let port = after.strip_prefix(':').map(str::parse).transpose().ok()?;
        (h.to_string(), port.unwrap_or(default))
    } else {
        match auth.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse().ok()?),
            None => (auth.to_string(), default),
        }
    };
    (!host.is_empty()).then_some((host, port))
}

/// Resolves `host` within `limit` (the resolver itself has no deadline: it
/// runs on a thread left behind if it is late).
fn resolve(host: &str, port: u16, limit: Duration) -> Result<Vec<SocketAddr>, String> {
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let name = host.to_string();
    std::thread::spawn(move || {
        let r = (name.as_str(), port)
            .to_socket_addrs()
            .map(|a| a.collect::<Vec<_>>());
        let _ = tx.send(r);
    });
    match rx.recv_timeout(limit) {
        Ok(Ok(a)) if !a.is_empty() => Ok(a),
        Ok(Ok(_)) => Err("no address".into()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} ms", limit.as_millis())),
    }
}

fn network(c: &ClientConfig, lines: &mut Vec<Line>, creds_ok: bool, journal: Option<&Journal>) {
    let limit = c.connect_timeout;
    let https = c.server_url.to_ascii_lowercase().starts_with("https://");
    let Some((host, port)) = host_port(&c.server_url) else {
        lines.push(Line::bad(
            "dns",
            "server_url has no host",
            "改正 server_url / correct server_url",
        ));
        return;
    };
    // With a proxy, the register resolves and reaches the proxy; the
    // proxy reaches the platform.
    let (via, target_host, target_port) = match c.proxy.as_deref().and_then(host_port) {
        Some((ph, pp)) => ("proxy ", ph, pp),
        None => ("", host.clone(), port),
    };
    let addrs = match resolve(&target_host, target_port, limit) {
        Ok(a) => {
            lines.push(Line::ok(
                "dns",
                format!("{via}{target_host} → {}", a[0].ip()),
            ));
            a
        }
        Err(e) => {
            lines.push(Line::bad(
                "dns",
                format!("cannot resolve {via}{target_host}: {e}"),
                "检查网络连接和 DNS 设置，或改用 IP 地址 / check the network and the DNS settings, or use the IP address",
            ));
            skip_platform(lines, https, "the name does not resolve");
            return;
        }
    };
    let mut connected = None;
    let mut last_err = String::new();
    for a in &addrs {
        match TcpStream::connect_timeout(a, limit) {
            Ok(s) => {
                connected = Some((s, *a));
                break;
            }
            Err(e) => last_err = e.to_string(),
        }
    }
    let Some((stream, addr)) = connected else {
        lines.push(Line::bad(
            "tcp",
            format!("cannot connect to {via}{target_host}:{target_port}: {last_err}"),
            "平台（或代理）未运行或被防火墙拦截：检查网线、防火墙和地址端口 / the platform (or proxy) is not running or a firewall blocks it: check the cable, the firewall, the address and port",
        ));
        skip_platform(lines, https, "no connection");
        return;
    };
    lines.push(Line::ok("tcp", format!("connected to {via}{addr}")));
    drop(stream);
    let settings = HttpSettings {
        connect_timeout: limit,
        read_timeout: limit,
        proxy: c.proxy.clone(),
        keep_alive: c.keep_alive,
    };
    let transport = match HttpTransport::with_ca_file(&settings, c.ca_file.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            lines.push(Line::bad(
                if c.proxy.is_some() { "proxy" } else { "tls" },
                e,
                "改正 proxy 或 ca_file / correct proxy or ca_file",
            ));
            return;
        }
    };
    let probed = transport.probe(&c.server_url);
    if c.proxy.is_some() {
        let through = match &probed {
            Err(TransportError::NotSent(e)) if e.to_ascii_lowercase().contains("proxy") => {
                Some(e.clone())
            }
            _ => None,
        };
        lines.push(match through {
            Some(e) => Line::bad(
                "proxy",
                format!("the proxy does not reach the platform: {e}"),
                "检查代理设置 / check the proxy setting",
            ),
            None => Line::ok("proxy", "the proxy reaches the platform"),
        });
    }
    let date = match probed {
        Ok(date) => {
            if https {
                lines.push(Line::ok(
                    "tls",
                    "certificate verified and valid by this register's clock",
                ));
            }
            date
        }
        Err(TransportError::NotSent(e) | TransportError::Unknown(e)) => {
            let clock = certificate_time_error(&e);
            lines.push(match clock {
                Some(which) => Line::bad(
                    "tls",
                    format!(
                        "the server certificate is {which} by this register's clock ({}): {e}",
                        china_now()
                    ),
                    format!("证书按本机时钟无效 / the certificate is out of date by this clock: {CHECK_CLOCK}"),
                ),
                None if https => Line::bad(
                    "tls",
                    format!("cannot talk to the platform: {e}"),
                    "检查 server_url 的主机名和 ca_file / check server_url's host name and ca_file",
                ),
                None => Line::bad(
                    "tcp",
                    format!("the platform does not answer HTTP: {e}"),
                    "检查 server_url / check server_url",
                ),
            });
            lines.push(Line::bad(
                "clock",
                "not compared: the platform did not answer",
                if clock.is_some() {
                    CHECK_CLOCK
                } else {
                    "先解决上面的问题 / fix the line above first"
                },
            ));
            serial_line(c, journal, lines);
            lines.push(Line::bad(
                "credentials",
                "not proven: the platform did not answer",
                "先解决上面的问题 / fix the line above first",
            ));
            return;
        }
    };
    lines.push(clock_line(date.as_deref()));
    serial_line(c, journal, lines);
    if creds_ok {
        lines.push(credentials_line(c, transport));
    } else {
        lines.push(Line::bad(
            "credentials",
            "not tried: their format is wrong",
            CHECK_CREDENTIALS,
        ));
    }
}

fn skip_platform(lines: &mut Vec<Line>, https: bool, why: &str) {
    if https {
        lines.push(Line::bad(
            "tls",
            format!("not tried: {why}"),
            "先解决上面的问题 / fix the line above first",
        ));
    }
    lines.push(Line::bad(
        "clock",
        format!("not compared: {why}"),
        "先解决上面的问题 / fix the line above first",
    ));
    lines.push(Line::bad(
        "credentials",
        format!("not proven: {why}"),
        "先解决上面的问题 / fix the line above first",
    ));
}

fn china_now() -> String {
    crate::time::china(crate::time::now_ms())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn fmt_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..120 => format!("{s} s"),
        120..7200 => format!("{} min", s / 60),
        7200..172_800 => format!("{} h", s / 3600),
        _ => format!("{} days", s / 86_400),
    }
}

/// The register's clock against the platform's HTTP `Date`.
fn clock_line(date: Option<&str>) -> Line {
    let Some(date) = date else {
        return Line::ok("clock", "not compared: the platform sent no Date header");
    };
    let Ok(theirs) = chrono::DateTime::parse_from_rfc2822(date) else {
        return Line::ok("clock", format!("not compared: unreadable Date '{date}'"));
    };
    let skew_ms = crate::time::now_ms() - theirs.timestamp_millis();
    let skew = Duration::from_millis(skew_ms.unsigned_abs());
    let theirs_china = crate::time::china(theirs.timestamp_millis())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    if skew > MAX_SKEW {
        Line::bad(
            "clock",
            format!(
                "the register's clock is {} {} the platform's (register {}, platform {} China time)",
                fmt_duration(skew),
                if skew_ms > 0 { "ahead of" } else { "behind" },
                china_now(),
                theirs_china
            ),
            CHECK_CLOCK,
        )
    } else {
        Line::ok(
            "clock",
            format!("within {} of the platform's", fmt_duration(skew)),
        )
    }
}

/// The journal's serial high-water mark against the clock.
fn serial_line(c: &ClientConfig, journal: Option<&Journal>, lines: &mut Vec<Line>) {
    let Some(j) = journal else { return };
    let now = crate::time::china_second(crate::time::now_ms());
    match j.newest_serial_second(&c.account) {
        Ok(Some(newest)) if newest - now > MAX_SERIAL_AHEAD.as_secs() as i64 => {
            lines.push(Line::bad(
                "serials",
                format!(
                    "the newest serial ({}…) is {} ahead of the clock: the clock was once ahead, or is behind now",
                    crate::time::china_stamp(newest),
                    fmt_duration(Duration::from_secs((newest - now) as u64))
                ),
                format!("{CHECK_CLOCK}；序列号在其后继续编号，直到时钟赶上 / serials continue after it until the clock catches up"),
            ))
        }
        Ok(Some(newest)) => lines.push(Line::ok(
            "serials",
            format!("newest serial {}… is not ahead of the clock", crate::time::china_stamp(newest)),
        )),
        Ok(None) => lines.push(Line::ok("serials", "no serial issued yet")),
        Err(e) => lines.push(Line::bad(
            "serials",
            format!("cannot read the serial ledger: {e}"),
            "见下面的日志库检查 / see the journal line below",
        )),
    }
}

/// One harmless signed query (API §4.2) of a serial no payment uses.
fn credentials_line(c: &ClientConfig, transport: HttpTransport) -> Line {
    let client = match Client::with_transport(c, std::sync::Arc::new(transport)) {
        Ok(c) => c,
        Err(e) => return Line::bad("credentials", e.to_string(), CHECK_CREDENTIALS),
    };
    // A fresh serial of this register: never used for a payment.
    let ori_seq = match client.issue_req_seq() {
        Ok(s) => s,
        Err(e) => return Line::bad("credentials", e.to_string(), CHECK_CREDENTIALS),
    };
    let mut q = QueryPayRequest {
        req_seq: String::new(),
        auth_code: None,
        ori_seq,
    };
    let proven = "acct, pass, private_key and dsn accepted";
    match client.query_pay(&mut q) {
        Err(Error::Refused(r)) => Line::ok(
            "credentials",
            format!("{proven}: a signed answer to our query ({} {})", r.code, r.msg),
        ),
        Ok(_) => Line::ok("credentials", format!("{proven}: a signed answer to our query")),
        Err(Error::Rejected(Rejection::DeviceRefused { code, msg })) => Line::bad(
            "credentials",
            format!("the platform refused this register: {code} {msg} (a wrong private_key or pass makes a dsn the platform does not know)"),
            CHECK_CREDENTIALS,
        ),
        Err(Error::Rejected(Rejection::BadSignature)) => Line::bad(
            "credentials",
            "the answer is not signed with this register's dsn: likely a wrong private_key or pass (or dsn)",
            CHECK_CREDENTIALS,
        ),
        Err(Error::Rejected(Rejection::ReqSeqMismatch { .. })) => Line::bad(
            "credentials",
            "the answer does not name our query: likely a wrong private_key or pass",
            CHECK_CREDENTIALS,
        ),
        Err(e @ (Error::NotSent(_) | Error::OutcomeUnknown(_))) => Line::bad(
            "credentials",
            format!("not proven: {e}"),
            "检查网络后重试 / check the network and try again",
        ),
        Err(e) => Line::bad("credentials", format!("not proven: {e}"), CHECK_CREDENTIALS),
    }
}

fn journal_lines(settings: &Settings, journal: Option<&Journal>, lines: &mut Vec<Line>) {
    let Some(j) = journal else {
        if settings.journal.is_none() {
            lines.push(Line::ok(
                "journal",
                "none configured (payments are not kept across restarts)",
            ));
        }
        return;
    };
    let path = j.path().map(Path::to_path_buf);
    let shown = path
        .as_ref()
        .map_or_else(|| "in memory".to_string(), |p| p.display().to_string());
    match j.quick_check() {
        Ok(r) if r == "ok" => lines.push(Line::ok("journal", format!("{shown}: opens, quick_check ok"))),
        Ok(r) => lines.push(Line::bad(
            "journal",
            format!("{shown}: quick_check says {r}"),
            "停止收款，保留文件并联系技术支持 / stop taking payments, keep the file and call support",
        )),
        Err(e) => lines.push(Line::bad(
            "journal",
            format!("{shown}: {e}"),
            "停止收款，保留文件并联系技术支持 / stop taking payments, keep the file and call support",
        )),
    }
    if let Some(dir) = path.as_deref().map(folder_of) {
        lines.push(match free_bytes(&dir) {
            Some(n) if n < MIN_FREE_BYTES => Line::bad(
                "disk",
                format!("{} MB free on the journal's disk", n / (1024 * 1024)),
                "清理磁盘空间 / free some disk space",
            ),
            Some(n) => Line::ok(
                "disk",
                format!("{} MB free on the journal's disk", n / (1024 * 1024)),
            ),
            None => Line::ok("disk", "free space not known on this system"),
        });
    }
    match j.open_ops(&settings.client.account) {
        Ok(ops) if ops.is_empty() => lines.push(Line::ok("open_operations", "none")),
        Ok(ops) => {
            let now = crate::time::now_ms();
            let oldest = ops.iter().map(|o| o.created_ms).min().unwrap_or(now);
            let age = Duration::from_millis((now - oldest).max(0) as u64);
            let found = format!("{} open, the oldest {} old", ops.len(), fmt_duration(age));
            lines.push(if age > MAX_OPEN_AGE {
                Line::bad(
                    "open_operations",
                    found,
                    "网络恢复后运行 `ystpay journal recover` / run `ystpay journal recover` once the platform is reachable",
                )
            } else {
                Line::ok("open_operations", format!("{found} (recovery settles them)"))
            });
        }
        Err(e) => lines.push(Line::bad(
            "open_operations",
            e.to_string(),
            "停止收款，保留文件并联系技术支持 / stop taking payments, keep the file and call support",
        )),
    }
}

fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn log_line(settings: &Settings) -> Line {
    let Some(file) = &settings.log_file else {
        return Line::ok("log", "no log file configured");
    };
    let dir = folder_of(file);
    let probe = dir.join(format!(
        ".ystpay-doctor-{}-{}.tmp",
        std::process::id(),
        crate::time::system_ms()
    ));
    // The log creates a missing folder itself: so does the check.
    let written =
        std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&probe, b"ystpay doctor"));
    match written {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            Line::ok("log", format!("{} is writable", dir.display()))
        }
        Err(e) => Line::bad(
            "log",
            format!("cannot write in {}: {e}", dir.display()),
            "确认日志文件夹存在且可写 / make sure the log folder exists and is writable",
        ),
    }
}

fn retention_line(settings: &Settings) -> Line {
    let (j, l) = (settings.journal_keep_days, settings.log_keep_days);
    let found = format!("journal_keep_days={j}, log_keep_days={l}");
    if (1..62).contains(&j) {
        Line::bad(
            "retention",
            format!("{found}: the journal keeps less than two months"),
            "对账需要至少两个月：把 journal_keep_days 设为 62 以上（默认 400）/ reconciliation needs two months at least: set journal_keep_days to 62 or more (default 400)",
        )
    } else if (1..7).contains(&l) {
        Line::bad(
            "retention",
            format!("{found}: the log keeps less than a week"),
            "把 log_keep_days 设为 7 以上（默认 90）/ set log_keep_days to 7 or more (default 90)",
        )
    } else {
        Line::ok("retention", found)
    }
}

/// Free bytes on the volume holding `dir`, where the system says.
#[cfg(unix)]
fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt as _;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut s = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: a NUL-terminated path and a buffer of the right type.
    let r = unsafe { libc::statvfs(c.as_ptr(), s.as_mut_ptr()) };
    if r != 0 {
        return None;
    }
    // SAFETY: statvfs succeeded and filled it.
    let s = unsafe { s.assume_init() };
    #[allow(clippy::unnecessary_cast)]
    Some(s.f_bavail as u64 * s.f_frsize as u64)
}

/// Free bytes on the volume holding `dir`, where the system says.
#[cfg(windows)]
fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::windows::ffi::OsStrExt as _;
    use windows_sys::Win32::Storage::FileSystem::GetDiskFreeSpaceExW;
    let wide: Vec<u16> = dir.as_os_str().encode_wide().chain([0]).collect();
    let mut avail = 0u64;
    // SAFETY: a NUL-terminated wide path; NULL for the outputs not wanted.
    let ok = unsafe {
        GetDiskFreeSpaceExW(
            wide.as_ptr(),
            &mut avail,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    (ok != 0).then_some(avail)
}

/// Free bytes: not known on this system.
#[cfg(not(any(unix, windows)))]
fn free_bytes(_: &Path) -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_ports() {
        assert_eq!(
            host_port("https://pay.example.com/x"),
            Some(("pay.example.com".into(), 443))
        );
        assert_eq!(
            host_port("http://127.0.0.1:8088/ystpay"),
            Some(("127.0.0.1".into(), 8088))
        );
        assert_eq!(host_port("https://[::1]:9/x"), Some(("::1".into(), 9)));
        assert_eq!(host_port("http:///x"), None);
    }

    #[test]
    fn unknown_keys_are_named_with_their_line() {
        let (s, lines) = settings_from_ini(
            "server_url=http://127.0.0.1:1/x\nacct=demo\npass=secret1\nprivate_key=0123456789ABCDEF\ncolour=blue\n",
        );
        assert!(s.is_some());
        assert!(!lines[0].ok);
        assert!(lines[0].found.contains("'colour' (line 5)"), "{lines:?}");
    }

    #[test]
    fn clock_skew_is_named() {
        let far = chrono::Utc::now() - chrono::Duration::days(3 * 365);
        let l = clock_line(Some(&far.to_rfc2822()));
        assert!(!l.ok && l.found.contains("ahead of"), "{l:?}");
        let l = clock_line(Some(&chrono::Utc::now().to_rfc2822()));
        assert!(l.ok, "{l:?}");
    }
}
