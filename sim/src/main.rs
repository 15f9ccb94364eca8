//! `ystpay-sim`: runs the platform simulator until killed.
//!
//! Prints the API URL as the first line of standard output. The flags are
//! [`ystpay_sim::SimArgs`], shared with `ystpay sim`.

use clap::Parser;

/// Simulator of the 赢商通 (Yingshangtong) payment platform API v1.3.1.
#[derive(Parser, Debug)]
#[command(name = "ystpay-sim", version, about)]
struct Cli {
    #[command(flatten)]
    args: ystpay_sim::SimArgs,
}

fn main() {
    match Cli::parse().args.run() {
        Ok(never) => match never {},
        Err(e) => {
            eprintln!("ystpay-sim: {e}");
            std::process::exit(2);
        }
    }
}
