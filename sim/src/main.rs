//! `ystpay-sim`: runs the platform simulator until killed.
//!
//! Prints the API URL as the first line of standard output.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use ystpay_sim::{SimConfig, Simulator};

/// Simulator of the 赢商通 (Yingshangtong) payment platform API v1.3.1.
#[derive(Parser, Debug)]
#[command(name = "ystpay-sim", version, about)]
struct Args {
    /// Address to listen on, e.g. 127.0.0.1:8088 (default from the config file, else 127.0.0.1:0).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Configuration file (TOML, or JSON when it ends in .json).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Divide every simulated wait by this factor (20 turns 5 s into 0.25 s).
    #[arg(long)]
    time_scale: Option<f64>,
    /// POST payment notifications (seed 5.5) to this URL.
    #[arg(long)]
    notify_url: Option<String>,
    /// Send notifications as the plain <data> document instead of a signed envelope.
    #[arg(long)]
    notify_plain: bool,
    /// Allow listening on a non-loopback address.
    #[arg(long)]
    allow_remote: bool,
    /// Do not log one line per request on standard error.
    #[arg(long)]
    quiet: bool,
}

fn run(args: Args) -> Result<(), String> {
    let mut cfg = match &args.config {
        Some(p) => SimConfig::from_file(p)?,
        None => SimConfig::default(),
    };
    if let Some(l) = args.listen {
        cfg.listen = l;
    }
    if let Some(t) = args.time_scale {
        cfg.time_scale = t;
    }
    if let Some(u) = args.notify_url {
        cfg.notify_url = Some(u);
    }
    if args.notify_plain {
        cfg.notify_plain = true;
    }
    if !cfg.listen.ip().is_loopback() && !args.allow_remote {
        return Err(format!(
            "refusing to listen on non-loopback address {} (add --allow-remote to do it anyway)",
            cfg.listen
        ));
    }
    ystpay_sim::set_verbose(!args.quiet);
    let sim = Simulator::start(cfg).map_err(|e| format!("cannot start: {e}"))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", sim.api_url()).map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    drop(out);
    loop {
        std::thread::park();
    }
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("ystpay-sim: {e}");
        std::process::exit(2);
    }
}
