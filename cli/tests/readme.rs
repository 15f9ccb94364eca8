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
fn c_abi_column_matches_the_c_abi_parser() {
    for (key, _) in ystpay::config::KEYS {
        let line = README
            .lines()
            .find(|l| l.starts_with(&format!("| `{key}` |")))
            .unwrap();
        let in_c = ystpay::ffi::config::KEYS.iter().any(|(k, _)| k == key);
        let says = if in_c { "| yes |" } else { "| no (CLI) |" };
        assert!(
            line.ends_with(says),
            "{key}: the C ABI column should read {says}"
        );
    }
}
