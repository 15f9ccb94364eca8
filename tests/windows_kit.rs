//! The sample `ystpay.ini` of the Windows kit (`packaging/windows/`, copied
//! by `scripts/package-windows.sh` with CRLF line ends and a byte-order
//! mark): the DLL's parser and the CLI's read it, every key is in it, and
//! every commented-out example is valid too. (The kit's DLL and tools are
//! checked under Wine by `scripts/ci-windows.sh`.)

use ystpay::config::{Settings, KEYS};
use ystpay::ffi::config::{parse, EXTRA_KEYS};

const SAMPLE: &str = include_str!("../packaging/windows/ystpay.ini");

/// The sample as the kit ships it: a byte-order mark and CRLF line ends.
fn as_shipped() -> String {
    format!("\u{feff}{}", SAMPLE.replace('\n', "\r\n"))
}

#[test]
fn both_parsers_read_the_sample_as_shipped() {
    let dll = parse(&as_shipped()).unwrap_or_else(|e| panic!("DLL parser: {}", e.message));
    assert_eq!(dll.enc(), ystpay::ffi::text::Enc::Gbk);
    let cli = Settings::parse(&as_shipped()).unwrap_or_else(|e| panic!("CLI parser: {e}"));
    assert_eq!(
        cli.journal.as_deref(),
        Some(std::path::Path::new(r"C:\POS\ystpay\journal.db"))
    );
    assert_eq!(
        cli.settle_deadline,
        Some(std::time::Duration::from_secs(50))
    );
}

/// `; key = value` lines whose key the DLL accepts: the commented examples.
fn commented_examples() -> Vec<&'static str> {
    SAMPLE
        .lines()
        .filter_map(|l| l.strip_prefix("; "))
        .filter(|l| {
            l.split_once(" = ")
                .is_some_and(|(k, _)| ystpay::ffi::config::accepts(k))
        })
        .collect()
}

#[test]
fn every_key_is_in_the_sample() {
    let examples = commented_examples();
    for (key, _) in KEYS.iter().chain(EXTRA_KEYS) {
        if *key == "flow_time_scale" {
            continue; // tests only: not for vendors
        }
        let set = SAMPLE.lines().any(|l| l.starts_with(&format!("{key} = ")));
        let example = examples.iter().any(|l| l.starts_with(&format!("{key} = ")));
        assert!(set || example, "ystpay.ini says nothing of '{key}'");
    }
}

#[test]
fn the_commented_examples_are_valid_too() {
    let examples = commented_examples();
    assert!(examples.len() >= 5, "{examples:?}");
    // Uncommented, each example replaces the active line of its key, if any.
    let keys: Vec<&str> = examples
        .iter()
        .map(|l| l.split_once(" = ").unwrap().0)
        .collect();
    let mut text = String::new();
    for line in SAMPLE.lines() {
        let active_key = line.split_once(" = ").map(|(k, _)| k);
        if active_key.is_some_and(|k| keys.contains(&k)) {
            continue;
        }
        text.push_str(
            line.strip_prefix("; ")
                .filter(|l| examples.contains(l))
                .unwrap_or(line),
        );
        text.push('\n');
    }
    parse(&text).unwrap_or_else(|e| panic!("{}\n{text}", e.message));
}

/// The sample of docs/C-ABI.md, as an integrator would copy it, is read by
/// the DLL's parser with the values it shows.
#[test]
fn the_c_abi_guide_sample_is_valid() {
    let guide = include_str!("../docs/C-ABI.md");
    let start = guide.find("```ini\n").expect("an ini sample") + "```ini\n".len();
    let sample = &guide[start..start + guide[start..].find("```").unwrap()];
    let s = parse(sample).unwrap_or_else(|e| panic!("line {}", e.message));
    assert!(s.shared.client.allow_http);
    assert_eq!(s.enc(), ystpay::ffi::text::Enc::Gbk);
    assert_eq!(
        s.shared.journal.as_deref(),
        Some(std::path::Path::new(r"C:\POS\ystpay-journal.db"))
    );
}
