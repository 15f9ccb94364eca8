//! `ystpay doctor`: the checks of `ystpay::doctor` for the configuration
//! the other commands would use (file, environment, flags), printed as
//! text or, with `--json`, as one JSON object. Exit 0 only when every line
//! is ✓; otherwise 2 (configuration) or 3 (anything else).

use std::io::Write as _;

use crate::report::exit;
use crate::setup::{self, ConnOpts};

pub fn run(conn: &ConnOpts) -> i32 {
    let (settings, mut config_lines) = match setup::doctor_settings(conn) {
        Ok(r) => r,
        Err(e) => (
            None,
            vec![ystpay::doctor::Line {
                ok: false,
                check: "config",
                found: e.to_string(),
                fix: "按提示改正配置 / correct the configuration as the message says".into(),
            }],
        ),
    };
    let report = match &settings {
        Some(s) => {
            let lines = std::mem::take(&mut config_lines);
            ystpay::doctor::run(s, lines, None)
        }
        None => ystpay::doctor::Report {
            lines: config_lines,
            elapsed: std::time::Duration::ZERO,
        },
    };
    let text = if conn.json {
        format!("{}\n", report.to_json())
    } else {
        report.to_text()
    };
    // The report holds no secret; scrubbed all the same, as every output.
    let text = match &settings {
        Some(s) => scrub(text, &s.client),
        None => text,
    };
    print!("{text}");
    let _ = std::io::stdout().flush();
    if report.all_ok() {
        exit::OK
    } else if settings.is_none() || report.lines.iter().any(|l| !l.ok && l.check == "config") {
        exit::USAGE
    } else {
        exit::UNKNOWN
    }
}

fn scrub(mut text: String, c: &ystpay::ClientConfig) -> String {
    let mut secrets = vec![c.private_key.clone()];
    if let Some(p) = &c.password {
        secrets.push(ystpay::protocol::crypto::md5_upper(p.as_bytes()));
        secrets.push(p.clone());
    }
    if let Some(d) = &c.dsn {
        secrets.push(d.clone());
    }
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        text = text.replace(s.as_str(), "<hidden>");
    }
    text
}
