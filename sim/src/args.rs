//! The simulator's command-line flags: one definition for `ystpay-sim` and
//! `ystpay sim`, which both flatten [`SimArgs`] (sim/README.md "Run").

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::{RunningSim, SimConfig, Simulator};

/// The flags of `ystpay-sim` (and of `ystpay sim`).
#[derive(clap::Args, Debug, Clone, Default, PartialEq)]
pub struct SimArgs {
    /// Address to listen on, e.g. 127.0.0.1:8088 (default from the config file, else 127.0.0.1:0).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Configuration file (TOML, or JSON when it ends in .json).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Divide every simulated wait by this factor (20 turns 5 s into 0.25 s).
    #[arg(long)]
    pub time_scale: Option<f64>,
    /// POST payment notifications (API §5.5) to this URL.
    #[arg(long)]
    pub notify_url: Option<String>,
    /// Send notifications as the plain `<data>` document instead of a signed envelope.
    #[arg(long)]
    pub notify_plain: bool,
    /// Answer a refund's `refund_fee` as the order's total refunded so far
    /// (the cumulative reading of API §4.3 "已退款金额").
    #[arg(long)]
    pub refund_fee_cumulative: bool,
    /// Allow listening on a non-loopback address.
    #[arg(long)]
    pub allow_remote: bool,
    /// Do not log one line per request on standard error.
    #[arg(long)]
    pub quiet: bool,
}

impl SimArgs {
    /// The configuration the flags ask for: the configuration file (or the
    /// defaults), then each flag over it. Refuses a non-loopback listen
    /// address unless `allow_remote` is set.
    pub fn to_config(&self) -> Result<SimConfig, String> {
        let mut cfg = match &self.config {
            Some(p) => SimConfig::from_file(p)?,
            None => SimConfig::default(),
        };
        if let Some(l) = self.listen {
            cfg.listen = l;
        }
        if let Some(t) = self.time_scale {
            cfg.time_scale = t;
        }
        if let Some(u) = &self.notify_url {
            cfg.notify_url = Some(u.clone());
        }
        cfg.notify_plain |= self.notify_plain;
        cfg.refund_fee_cumulative |= self.refund_fee_cumulative;
        if !cfg.listen.ip().is_loopback() && !self.allow_remote {
            return Err(format!(
                "refusing to listen on non-loopback address {} (add --allow-remote to do it anyway)",
                cfg.listen
            ));
        }
        Ok(cfg)
    }

    /// Starts the simulator the flags describe, with one log line per
    /// request on standard error unless `quiet`.
    pub fn start(&self) -> Result<RunningSim, String> {
        let cfg = self.to_config()?;
        crate::set_verbose(!self.quiet);
        Simulator::start(cfg).map_err(|e| format!("cannot start: {e}"))
    }

    /// What the binaries do: starts, prints the API URL as the first line
    /// of standard output, and serves until the process is killed. Returns
    /// only to report why it could not start.
    pub fn run(&self) -> Result<Infallible, String> {
        let sim = self.start()?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", sim.api_url()).map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string())?;
        drop(out);
        if !self.quiet {
            eprintln!("[ystpay-sim] console: {}", sim.console_url());
        }
        loop {
            std::thread::park();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_over_the_file() {
        let dir = std::env::temp_dir().join(format!("ystpay-sim-args-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("sim.toml");
        std::fs::write(&f, "listen = \"127.0.0.1:18089\"\ntime_scale = 5.0\n").unwrap();
        let a = SimArgs {
            config: Some(f.clone()),
            time_scale: Some(20.0),
            notify_url: Some("http://127.0.0.1:9/n".into()),
            notify_plain: true,
            ..SimArgs::default()
        };
        let c = a.to_config().unwrap();
        assert_eq!(c.listen.port(), 18089, "the file's listen stays");
        assert_eq!(c.time_scale, 20.0, "the flag wins");
        assert_eq!(c.notify_url.as_deref(), Some("http://127.0.0.1:9/n"));
        assert!(c.notify_plain);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            SimArgs::default().to_config().unwrap(),
            SimConfig::default()
        );
    }

    #[test]
    fn loopback_unless_allowed() {
        let remote = SimArgs {
            listen: Some("0.0.0.0:0".parse().unwrap()),
            ..SimArgs::default()
        };
        assert!(remote.to_config().unwrap_err().contains("--allow-remote"));
        let allowed = SimArgs {
            allow_remote: true,
            ..remote
        };
        assert!(allowed.to_config().is_ok());
        let v6 = SimArgs {
            listen: Some("[::1]:0".parse().unwrap()),
            ..SimArgs::default()
        };
        assert!(v6.to_config().is_ok());
    }

    #[test]
    fn parses_like_the_binaries() {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Bin {
            #[command(flatten)]
            args: SimArgs,
        }
        let b = Bin::try_parse_from([
            "ystpay-sim",
            "--listen",
            "127.0.0.1:8088",
            "--time-scale",
            "2.5",
            "--quiet",
        ])
        .unwrap();
        assert_eq!(b.args.listen, Some("127.0.0.1:8088".parse().unwrap()));
        assert_eq!(b.args.time_scale, Some(2.5));
        assert!(b.args.quiet && !b.args.allow_remote);
        assert!(Bin::try_parse_from(["ystpay-sim", "--listen", "nowhere"]).is_err());
    }
}
