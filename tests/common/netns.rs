//! Runs a test body inside a fresh network namespace that the test creates
//! itself, so that a network fault can be staged without touching the
//! machine's own network, and nothing the body sends can leave the machine.
//!
//! The test re-executes its own binary under `unshare --net --mount`
//! (util-linux) with `--exact <test> --nocapture`; the child sees
//! [`INSIDE`] naming its test, checks that it really is in another network
//! namespace, stages the namespace with `ip` (iproute2) and private copies of
//! the resolver's files, then runs the body. Where a namespace cannot be made
//! (not root, no CAP_SYS_ADMIN, no `unshare` or `ip`) the test prints one
//! line `SKIPPED: <reason>` and passes, unless `YSTPAY_REQUIRE_NETNS=1`
//! (set by `.ci/run`) makes that a failure. A child still running after
//! [`CHILD_LIMIT`] is killed and the test fails: no fault may hang CI.
#![allow(dead_code)]

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Names the test the child process is to run inside the namespace.
pub const INSIDE: &str = "YSTPAY_NETNS_INSIDE";
/// The outer process's network namespace, which the child must not be in.
const OUTER: &str = "YSTPAY_NETNS_OUTER";

/// How long the child may run. Every body is bounded by a few connect
/// timeouts (seconds); one still running after this has hung.
pub const CHILD_LIMIT: Duration = Duration::from_secs(60);

/// The platform by address: 10.77.0.1 exists only inside the namespaces
/// staged here, so nothing sent to it leaves the machine.
pub const PLATFORM_BY_ADDRESS: &str = "http://10.77.0.1:8088/ystpay/service/unitive.api";
/// The platform by a name that no resolver may know (RFC 6761 `.invalid`).
pub const PLATFORM_BY_NAME: &str = "http://pay.ystpay.invalid:8088/ystpay/service/unitive.api";
/// The namespace's DNS server: nobody, at an address that leads nowhere.
pub const NAMESERVER: &str = "10.77.0.53";

/// What the namespace holds besides a loopback that is up.
#[derive(Debug, Clone, Default)]
pub struct Netns {
    /// `ip` commands run in order, each an argument list.
    pub ip: Vec<Vec<String>>,
    /// Files of the same path seen only by the body, e.g. `/etc/resolv.conf`
    /// (bind-mounted in the child's own mount namespace).
    pub files: Vec<(String, String)>,
}

impl Netns {
    /// Only `lo`: no route to anywhere else (a cable pulled out).
    pub fn loopback_only() -> Netns {
        Netns::default()
    }

    /// Adds `ip <args>`.
    pub fn ip(mut self, args: &str) -> Netns {
        self.ip
            .push(args.split_whitespace().map(str::to_string).collect());
        self
    }

    /// Shows `contents` at `path` to the body only.
    pub fn file(mut self, path: &str, contents: &str) -> Netns {
        self.files.push((path.to_string(), contents.to_string()));
        self
    }

    /// Name lookups go to `nameserver` by DNS alone (no nscd, no
    /// systemd-resolved over a socket of the outer namespace), one try of
    /// one second.
    pub fn dns_only(self, nameserver: &str) -> Netns {
        self.file(
            "/etc/resolv.conf",
            &format!("nameserver {nameserver}\noptions timeout:1 attempts:1\n"),
        )
        .file("/etc/nsswitch.conf", "hosts: files dns\n")
        .file("/etc/hosts", "127.0.0.1 localhost\n")
    }

    /// A router up with no upstream: a tun device that nobody reads, the
    /// namespace's only way out, so every packet sent into it is dropped
    /// and a connect can only time out.
    pub fn router_without_upstream() -> Netns {
        Netns::default()
            .ip("tuntap add dev tun0 mode tun")
            .ip("addr add 10.77.0.2/24 dev tun0")
            .ip("link set tun0 up")
            .ip("route add default via 10.77.0.1 dev tun0")
    }

    fn needs_tun(&self) -> bool {
        self.ip.iter().any(|a| a.iter().any(|w| w == "tuntap"))
    }
}

/// Runs `body` in a fresh network namespace set up as `net`. `test` is the
/// calling test's name as libtest spells it (its path inside the test crate,
/// e.g. `cable_out`); the child runs exactly that test.
pub fn run(test: &str, net: &Netns, body: impl FnOnce()) {
    if std::env::var(INSIDE).as_deref() == Ok(test) {
        enter(net);
        body();
        return;
    }
    if let Err(why) = can_make(net) {
        super::skip::skip_or_fail("YSTPAY_REQUIRE_NETNS", test, &why);
        return;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut child = Command::new("unshare")
        .args(["--net", "--mount", "--"])
        .arg(&exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(INSIDE, test)
        .env(OUTER, own_netns())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("unshare runs");
    // Read both pipes while waiting, so that a chatty child never blocks.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut text);
            }
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let out = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let err = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the child") {
            break Some(status);
        }
        if started.elapsed() > CHILD_LIMIT {
            // unshare execs the test binary: this is the child itself.
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    print!("{stdout}");
    eprint!("{stderr}");
    let Some(status) = status else {
        panic!("{test} still ran inside its namespace after {CHILD_LIMIT:?}: killed");
    };
    assert!(status.success(), "{test} failed inside its namespace");
    // A name libtest does not know runs no test and still succeeds.
    assert!(
        stdout.contains("test result: ok. 1 passed"),
        "{test} did not run inside its namespace"
    );
}

/// The network namespace of this process, e.g. `net:[4026531840]`.
fn own_netns() -> String {
    std::fs::read_link("/proc/self/ns/net")
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

/// Why a namespace cannot be made here, if it cannot.
fn can_make(net: &Netns) -> Result<(), String> {
    if !Path::new("/proc/self/ns/net").exists() {
        return Err("no network namespaces (/proc/self/ns/net)".into());
    }
    if net.needs_tun() && !Path::new("/dev/net/tun").exists() {
        return Err("no /dev/net/tun for a tun device".into());
    }
    let out = Command::new("unshare")
        .args(["--net", "--mount", "--", "ip", "link", "set", "lo", "up"])
        .output()
        .map_err(|e| format!("cannot run unshare (util-linux): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "unshare --net --mount ip: {} (needs root or CAP_SYS_ADMIN, and iproute2)",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// In the child: refuses to go on unless in another network namespace than
/// the parent's, then stages `net`.
fn enter(net: &Netns) {
    let outer = std::env::var(OUTER).unwrap_or_default();
    let here = own_netns();
    assert!(
        !outer.is_empty() && !here.is_empty() && outer != here,
        "not in a fresh network namespace ({here} vs {outer}): refusing to stage a fault"
    );
    ip(&["link", "set", "lo", "up"]);
    for args in &net.ip {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ip(&args);
    }
    if !net.files.is_empty() {
        let dir = std::env::temp_dir().join(format!("ystpay-netns-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Private mounts: the bind mounts below stay in this mount namespace.
        run_ok("mount", &["--make-rprivate", "/"]);
        for (i, (path, contents)) in net.files.iter().enumerate() {
            let copy = dir.join(format!("file{i}"));
            std::fs::write(&copy, contents).unwrap();
            run_ok("mount", &["--bind", copy.to_str().unwrap(), path]);
        }
        // glibc asks a running nscd before its own lookup.
        for nscd in ["/var/run/nscd", "/run/nscd"] {
            if Path::new(nscd).is_dir() {
                let empty = dir.join("empty");
                std::fs::create_dir_all(&empty).unwrap();
                run_ok("mount", &["--bind", empty.to_str().unwrap(), nscd]);
            }
        }
        // The mounts keep what they show; the copies' names are not needed.
        let _ = std::fs::remove_dir_all(&dir);
    }
}

fn ip(args: &[&str]) {
    run_ok("ip", args);
}

fn run_ok(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
}
