//! The README stays true: its first lines are the two set-up commands, its
//! configuration table is `config::KEYS`, and the commands it shows exist.

const README: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"));

#[test]
fn first_lines_are_the_two_setup_commands() {
    let first: Vec<&str> = README.lines().take(4).collect();
    assert_eq!(
        first,
        [
            "```sh",
            "cargo run -p ystpay-cli -- demo",
            "cargo test --workspace",
            "```"
        ]
    );
}

#[test]
fn configuration_table_matches_the_code() {
    for (key, meaning) in ystpay::config::KEYS {
        let row = format!("| `{key}` | {meaning} |");
        assert!(
            README.lines().any(|l| l.starts_with(&row)),
            "README lacks the row {row}"
        );
    }
}

#[test]
fn every_subcommand_shown_exists() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ystpay"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for line in README.lines().filter(|l| l.starts_with("ystpay ")) {
        let sub = line.split_whitespace().nth(1).unwrap();
        assert!(
            help.contains(&format!("  {sub} ")),
            "README shows `ystpay {sub}`, which --help lacks"
        );
    }
    for code in 0..=5 {
        assert!(
            README.contains(&format!("| {code} |")),
            "exit code {code} undocumented"
        );
        assert!(
            help.contains(&format!("  {code}  ")),
            "exit code {code} not in --help"
        );
    }
}

#[test]
fn the_c_abi_reads_every_key_and_the_readme_names_its_own() {
    // One parser: a configuration with any key of the table is read by the
    // C ABI's parser as well (an unknown key would be refused).
    let base =
        "server_url=http://127.0.0.1:1/x\nacct=demo\npass=demo123\nprivate_key=0123456789ABCDEF\n";
    let sample = |key: &str| match key {
        "encoding" => "gbk",
        "log_level" => "error",
        "allow_http" | "recover_on_start" => "1",
        "register_no" | "connect_timeout_ms" | "read_timeout_ms" | "settle_deadline_s"
        | "flow_time_scale" | "log_keep_days" | "journal_keep_days" | "keep_alive_s" => "7",
        "dsn" => "0123456789ABCDEF0123456789ABCDEF",
        _ => "/tmp/ystpay-readme-test",
    };
    for (key, _) in ystpay::config::KEYS
        .iter()
        .chain(ystpay::ffi::config::EXTRA_KEYS)
    {
        if ["server_url", "acct", "pass", "private_key", "log_file"].contains(key) {
            continue; // in `base`, or a file the parser would create
        }
        let text = format!("{base}{key} = {}\n", sample(key));
        if let Err(e) = ystpay::ffi::config::parse(&text) {
            panic!("the C ABI refuses '{key}': {}", e.message);
        }
    }
    for (key, _) in ystpay::ffi::config::EXTRA_KEYS {
        assert!(
            README.contains(&format!("`{key}`")),
            "README does not name the C ABI key {key}"
        );
    }
}
