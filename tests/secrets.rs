//! Secrets leave no trace: the private key, the password (and its MD5) and
//! the dsn are absent from `Debug` output and error texts, and the private
//! key and password are zeroed before their memory is freed.
//!
//! The zeroing test installs a global allocator that looks inside every
//! block as it is freed and counts the blocks still holding a secret. That
//! is sound (the block is still ours while `dealloc` runs) and catches every
//! heap copy the library forgets to wipe, including the old buffer of a
//! `String` that grew (`realloc` goes through `dealloc` here).

/// The fake platform (tests/fake/mod.rs), named `common` here.
mod fake;
use fake as common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::{paid_answer, seal_with, FakePlatform, Incoming};
use ystpay::config::Settings;
use ystpay::protocol::messages::PayRequest;
use ystpay::protocol::Credentials;
use ystpay::{Client, ClientConfig};

/// Distinctive values no other code produces.
const KEY: &str = "Zq7Wk3Pv9Xr2Lm5N";
const PASS: &str = "pw-9f3Kd81Qz-unique";

static ARMED: AtomicBool = AtomicBool::new(false);
static LEAKS: [AtomicUsize; 3] = [
    AtomicUsize::new(0),
    AtomicUsize::new(0),
    AtomicUsize::new(0),
];
/// MD5(PASS), upper hex, set at the start: as good as the password for
/// deriving a dsn.
static PASS_MD5: Mutex<[u8; 32]> = Mutex::new([0; 32]);

struct Inspecting;

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.len() <= hay.len() && hay.windows(needle.len()).any(|w| w == needle)
}

unsafe impl GlobalAlloc for Inspecting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARMED.load(Ordering::SeqCst) {
            // SAFETY: the block is allocated, `layout.size()` bytes long, and
            // ours until `System.dealloc` below; the bytes were initialised or
            // zeroed by whoever wrote them (u8 has no invalid values, and the
            // allocator below only hands out memory it got from the OS).
            let block = std::slice::from_raw_parts(ptr, layout.size());
            let md5 = PASS_MD5.try_lock().map(|g| *g).unwrap_or([0; 32]);
            let needles: [&[u8]; 3] = [KEY.as_bytes(), PASS.as_bytes(), &md5];
            for (i, n) in needles.iter().enumerate() {
                if contains(block, n) {
                    LEAKS[i].fetch_add(1, Ordering::SeqCst);
                }
            }
        }
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Inspecting = Inspecting;

/// One test function only, so no other test's allocations run while armed.
#[test]
fn secrets_are_zeroed_and_never_shown() {
    let md5 = ystpay::protocol::crypto::md5_upper(PASS.as_bytes());
    PASS_MD5.lock().unwrap().copy_from_slice(md5.as_bytes());
    let dsn = ystpay::protocol::crypto::derive_dsn("demo", KEY, PASS);

    // --- Debug output and error texts.
    let cfg = ClientConfig::new(common::URL, "demo", PASS, KEY);
    let shown = format!("{cfg:?}");
    for secret in [KEY, PASS] {
        assert!(!shown.contains(secret), "ClientConfig Debug shows a secret");
    }
    let mut with_dsn = ClientConfig::new(common::URL, "demo", PASS, KEY);
    with_dsn.dsn = Some(dsn.clone());
    assert!(!format!("{with_dsn:?}").contains(&dsn));
    let creds = Credentials::derive("demo", PASS, KEY);
    let shown = format!("{creds:?}");
    assert!(!shown.contains(KEY) && !shown.contains(&creds.dsn));
    let c = Client::with_transport(&cfg, Arc::new(FakePlatform::new(|_| Vec::new()))).unwrap();
    let shown = format!("{c:?}");
    assert!(!shown.contains(KEY) && !shown.contains(&dsn) && !shown.contains(PASS));
    let mut bad = ClientConfig::new(common::URL, "demo", PASS, "short-key-secret");
    bad.dsn = Some("not-a-dsn-secret".into());
    let e = Client::with_transport(&bad, Arc::new(FakePlatform::new(|_| Vec::new()))).unwrap_err();
    assert!(!e.to_string().contains("short-key-secret"));
    let text = format!(
        "server_url=http://127.0.0.1/\nacct=demo\npass={PASS}\nprivate_key={KEY}\ndsn=zz{PASS}\n"
    );
    let settings = Settings::parse(&text).expect("syntax is fine");
    let e = Client::with_transport(
        &settings.client,
        Arc::new(FakePlatform::new(|_| Vec::new())),
    )
    .unwrap_err();
    assert!(!e.to_string().contains(PASS), "config error shows a secret");
    let e = Settings::parse(&format!("{text}pass = {PASS}\n")).unwrap_err();
    assert!(!e.to_string().contains(PASS), "config error shows a secret");
    drop(settings);
    drop((cfg, with_dsn, creds, c, bad, text));

    // --- Zeroing: from here on, every freed block is inspected.
    ARMED.store(true, Ordering::SeqCst);
    {
        // A client built from a configuration file, used, then freed.
        // Built in place (no reallocation), so the test itself leaves no copy.
        let mut text = String::with_capacity(512);
        for part in [
            "server_url = http://127.0.0.1:9/ystpay/service/unitive.api\n",
            "acct = demo\npass = ",
            PASS,
            "\nprivate_key = ",
            KEY,
            "\n",
        ] {
            text.push_str(part);
        }
        let settings = Settings::parse(&text).expect("settings");
        zeroize::Zeroize::zeroize(&mut text);

        let answer_dsn = dsn.clone();
        let platform = Arc::new(FakePlatform::with_keys(
            "demo",
            PASS,
            KEY,
            move |inc: &Incoming| {
                let plain = paid_answer("unitive_pay_response", &inc.req_seq(), "900001", 100);
                seal_with(&answer_dsn, "1426497738440", &plain)
            },
        ));
        let client = Client::with_transport(&settings.client, platform).expect("client");
        drop(settings);
        let mut pay = PayRequest::new("", 100, "134567890123456701");
        let answer = client.pay(&mut pay).expect("paid");
        assert_eq!(answer.total_fee, Some(100));
        drop(client);

        // The same from a configuration made in code, with a ready dsn.
        let mut cfg = ClientConfig::new(common::URL, "demo", PASS, KEY);
        cfg.dsn = Some(dsn.clone());
        let client = Client::with_transport(&cfg, Arc::new(FakePlatform::new(|_| Vec::new())))
            .expect("client");
        drop(cfg);
        drop(client);
    }
    ARMED.store(false, Ordering::SeqCst);
    let names = ["private key", "password", "MD5(password)"];
    for (i, name) in names.iter().enumerate() {
        assert_eq!(
            LEAKS[i].load(Ordering::SeqCst),
            0,
            "{name} left in freed memory"
        );
    }
}
