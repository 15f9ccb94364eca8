//! The console (sim/README.md "Console") in a real headless browser:
//! Debian's chromium driven by chromedriver over WebDriver (plain HTTP on
//! 127.0.0.1). The library creates orders and waits; the test clicks in the
//! page as the customer would, and the library settles what was clicked.
//!
//! Needs /usr/bin/chromium and /usr/bin/chromedriver (apt packages
//! `chromium` and `chromium-driver`, installed by `.ci/run`). Without them
//! the test prints SKIPPED and the reason, unless YSTPAY_REQUIRE_BROWSER=1
//! (set by `.ci/run` once it installed them) makes that a failure.
//!
//! It keeps screenshots for CI under the target directory:
//! `sim-console.png` (English) and `sim-console-zh.png` (中文);
//! docs/sim-console.png is a copy of the English one.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};
use ystpay::flow::{NewOrder, OrderSpec, OrderStart, PayOrder, PollSchedule};
use ystpay::protocol::{Channel, PayRequest};
use ystpay::{Client, ClientConfig, FlowConfig, Journal, Outcome, Payments, SettleOptions};
use ystpay_sim::{Fault, SimConfig, Simulator, TrueStatus};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long any one thing may take to appear on a slow, shared machine.
const PATIENCE: Duration = Duration::from_secs(90);
/// The W3C WebDriver key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

// ------------------------------------------------------------------ WebDriver

/// chromedriver and one browser session; both end on drop.
struct Browser {
    driver: Child,
    base: String,
    agent: ureq::Agent,
    profile: PathBuf,
}

impl Browser {
    fn start(log: &Path) -> Browser {
        let mut driver = Command::new(CHROMEDRIVER)
            .arg("--port=0")
            .arg(format!("--log-path={}", log.display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        // "ChromeDriver was started successfully on port N." tells the port.
        let out = driver.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("on port ").nth(1) {
                    let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    if line.contains("successfully") {
                        let _ = tx.send(port);
                    }
                }
            }
        });
        let port = match rx.recv_timeout(PATIENCE) {
            Ok(p) => p,
            Err(_) => {
                let _ = driver.kill();
                panic!(
                    "chromedriver did not report its port; see {}",
                    log.display()
                );
            }
        };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(180)))
            .http_status_as_error(false)
            .build()
            .into();
        let profile = std::env::temp_dir().join(format!(
            "ystpay-sim-console-profile-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        std::fs::create_dir_all(&profile).unwrap();
        let mut b = Browser {
            driver,
            base: format!("http://127.0.0.1:{port}"),
            agent,
            profile,
        };
        // The machine's network is closed: without these flags chromium
        // keeps trying to reach its update, sync and field-trial servers.
        let args = json!([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,1000",
            format!("--user-data-dir={}", b.profile.display()),
        ]);
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
            "goog:loggingPrefs": { "browser": "ALL" },
        }}});
        let v = b
            .call("POST", "/session", Some(caps))
            .expect("a browser session");
        let id = v["sessionId"].as_str().expect("sessionId").to_string();
        b.base = format!("{}/session/{id}", b.base);
        b
    }

    /// One WebDriver command; `Err` holds the WebDriver error.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, Value> {
        let url = format!("{}{path}", self.base);
        let resp = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            (_, b) => self
                .agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(b.unwrap_or_else(|| json!({})).to_string()),
        };
        let mut resp = resp.map_err(|e| json!({ "error": "http", "message": e.to_string() }))?;
        let ok = resp.status().is_success();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let value = v.get("value").cloned().unwrap_or(Value::Null);
        if ok {
            Ok(value)
        } else {
            Err(value)
        }
    }

    fn go(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })))
            .expect("navigate");
    }

    /// Runs `script` (a function body) in the page with `args`.
    fn js(&self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Waits until `script` returns something other than null/false/"".
    fn wait_js(&self, what: &str, script: &str, args: Value) -> Value {
        let end = Instant::now() + PATIENCE;
        loop {
            let v = self.js(script, args.clone());
            if !(v.is_null() || v == json!(false) || v == json!("")) {
                return v;
            }
            assert!(Instant::now() < end, "the page never showed {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits for the element matching `css` and returns its reference.
    fn find(&self, css: &str) -> String {
        let end = Instant::now() + PATIENCE;
        loop {
            match self.call(
                "POST",
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            ) {
                Ok(v) => {
                    return v[ELEMENT]
                        .as_str()
                        .unwrap_or_else(|| panic!("element id in {v}"))
                        .to_string()
                }
                Err(e) if e["error"] == "no such element" => {}
                Err(e) => panic!("finding {css}: {e}"),
            }
            assert!(Instant::now() < end, "no element {css} appeared");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Clicks the element matching `css` as a user would (once it is there).
    fn click(&self, css: &str) {
        let end = Instant::now() + PATIENCE;
        loop {
            let id = self.find(css);
            match self.call("POST", &format!("/element/{id}/click"), None) {
                Ok(_) => return,
                // Replaced between finding and clicking: find it again.
                Err(e) if e["error"] == "stale element reference" => {}
                Err(e) => panic!("clicking {css}: {e}"),
            }
            assert!(Instant::now() < end, "could not click {css}");
        }
    }

    /// Replaces the text of an input as a user would.
    fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.call("POST", &format!("/element/{id}/clear"), None)
            .expect("clear");
        self.call(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        )
        .expect("type");
    }

    fn text(&self, css: &str) -> String {
        let id = self.find(css);
        let v = self
            .call("GET", &format!("/element/{id}/text"), None)
            .expect("text");
        v.as_str().unwrap_or_default().to_string()
    }

    fn screenshot(&self, to: &Path) {
        let v = self.call("GET", "/screenshot", None).expect("screenshot");
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().expect("base64 PNG"))
            .expect("base64");
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
        std::fs::write(to, png).unwrap();
        println!("screenshot: {}", to.display());
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.call("DELETE", "", None);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

// ------------------------------------------------------------------ helpers

/// The cargo target directory this test binary was built in
/// (`<target>/debug/deps/console_browser-…`), where CI keeps artifacts.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir)
}

/// A notification receiver on loopback: the first notice is answered by a
/// proxy's HTML error page (HTTP 502, the attempt fails, and the page must
/// show that HTML as text); every later one with `<result>Y</result>`.
fn receiver() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/notify", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().take(20).enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let l = line.trim_end().to_ascii_lowercase();
                if l.is_empty() {
                    break;
                }
                if let Some(v) = l.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; len];
            let _ = reader.read_exact(&mut body);
            let (status, reply) = if n == 0 {
                (
                    "502 Bad Gateway",
                    "<html><body><h1>502 Bad Gateway</h1><img src=x></body></html>",
                )
            } else {
                (
                    "200 OK",
                    "<data><result>Y</result><message>OK</message></data>",
                )
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                reply.len()
            );
        }
    });
    url
}

#[path = "../../tests/common/skip.rs"]
mod skip;

fn skip_or_fail(why: &str) {
    skip::skip_or_fail(
        "YSTPAY_REQUIRE_BROWSER",
        "the console browser test",
        &format!("{why} (apt-get install chromium chromium-driver)"),
    );
}

fn row(seq: &str) -> String {
    format!("#orders tr[data-req-seq=\"{seq}\"]")
}

// ------------------------------------------------------------------ the test

#[test]
fn the_customer_pays_in_the_console_and_the_library_settles_paid() {
    for p in [CHROMIUM, CHROMEDRIVER] {
        if !Path::new(p).exists() {
            return skip_or_fail(&format!("{p} is not installed"));
        }
    }
    let started = Instant::now();
    let target = target_dir();
    std::fs::create_dir_all(&target).unwrap();

    // 0.05: every scripted wait lasts 20 times longer, so nothing the test
    // clicks on ends by itself first (a 5 s password prompt lasts 100 s).
    let sim = Simulator::start(SimConfig {
        time_scale: 0.05,
        notify_url: Some(receiver()),
        ..SimConfig::default()
    })
    .expect("simulator starts");
    let ctl = sim.control();
    let mut cc = ClientConfig::new(&sim.api_url(), "demo", "demo123", "0123456789ABCDEF");
    cc.read_timeout = Duration::from_secs(30);
    let client = Arc::new(Client::new(&cc).unwrap());
    let journal = Arc::new(Journal::open_in_memory().unwrap());
    // Query often so the library notices a click soon; the deadlines stay
    // the defaults (50 s for a barcode payment, the order's 300 s expiry).
    let flow = FlowConfig {
        poll: PollSchedule::fixed(Duration::from_millis(250)),
        order_poll: PollSchedule::fixed(Duration::from_millis(250)),
        ..FlowConfig::default()
    };
    let pay = Payments::new(client, journal, flow).unwrap();
    let opts = SettleOptions::default();

    let browser = Browser::start(&target.join("sim-console-chromedriver.log"));
    browser.go(&format!("{}?lang=en", sim.console_url()));
    browser.wait_js(
        "the connected state",
        "return document.querySelector('#conn[data-state=online]') !== null;",
        json!([]),
    );
    assert_eq!(browser.text("h2[data-t=orders]"), "Orders");

    // 1. A QR order through the library; the customer pays in the page.
    let qr = NewOrder {
        total_fee: 2500,
        channel: Channel::WeChat,
        spec: OrderSpec::Native {
            expire_secs: Some(300),
        },
    };
    let OrderStart::Waiting(ticket) = pay.create_order(&qr, &opts).unwrap() else {
        panic!("the QR order was not created")
    };
    let qr_seq = ticket.req_seq.clone();
    // If the page fails, the library stops waiting soon after the test does.
    let wait_opts = SettleOptions {
        deadline: Some(PATIENCE + Duration::from_secs(30)),
        ..SettleOptions::default()
    };
    let settled = std::thread::scope(|s| {
        let waiter = s.spawn(|| pay.await_order(&qr_seq, &wait_opts));
        assert_eq!(
            browser.text(&format!("{} td.kind", row(&qr_seq))),
            "QR (native)"
        );
        browser.click(&format!("{} button[data-action=pay]", row(&qr_seq)));
        waiter.join().unwrap()
    })
    .unwrap();
    assert_eq!(settled.outcome, Outcome::Paid, "{settled:?}");
    let truth = ctl.order("demo", &qr_seq).unwrap();
    assert_eq!((truth.status, truth.pay_count), (TrueStatus::Paid, 1));
    browser.wait_js(
        "the QR order paid",
        "const r = document.querySelector(arguments[0]); \
         return r && r.dataset.status === 'paid' \
           && r.querySelector('td.pay-count').textContent === '1' \
           && r.querySelector('button') === null;",
        json!([row(&qr_seq)]),
    );
    browser.wait_js(
        "the message that the customer paid",
        "return document.querySelector('#message').textContent === arguments[0];",
        json!([format!("The customer paid {qr_seq}.")]),
    );

    // A refund through the library shows in the row.
    let refund = pay
        .settle_refund(&qr_seq, 500, "console test", &opts)
        .unwrap();
    assert_eq!(refund.outcome, Outcome::Paid, "{refund:?}");
    browser.wait_js(
        "the refund",
        "const c = document.querySelector(arguments[0] + ' td.refunds'); \
         return c && c.textContent === '¥5.00 (1)';",
        json!([row(&qr_seq)]),
    );

    // 2. Barcode payments waiting for the password: confirm now, walk away.
    for (code, action, want, truth_want) in [
        (
            "134567890123456755",
            "confirm",
            Outcome::Paid,
            TrueStatus::Paid,
        ),
        (
            "2812345678901266",
            "walk-away",
            Outcome::Failed,
            TrueStatus::Failed,
        ),
    ] {
        let seq = pay.client().issue_req_seq().unwrap();
        let order = PayOrder::new(880, code);
        let s = std::thread::scope(|s| {
            let payer = s.spawn(|| pay.settle_pay_as(Some(seq.as_str()), &order, &opts));
            browser.click(&format!("{} button[data-action={action}]", row(&seq)));
            payer.join().unwrap()
        })
        .unwrap();
        assert_eq!(s.outcome, want, "{action}: {s:?}");
        let o = ctl.order("demo", &seq).unwrap();
        assert_eq!(o.status, truth_want, "{action}");
        assert_eq!(o.pay_count, u32::from(want == Outcome::Paid), "{action}");
        browser.wait_js(
            "the barcode payment's end",
            "const r = document.querySelector(arguments[0]); \
             return r && r.dataset.status === arguments[1] && r.querySelector('button') === null;",
            json!([row(&seq), format!("{truth_want:?}").to_lowercase()]),
        );
    }

    // 3. Notifications: the first (for the QR order) met a proxy's HTML page;
    // a JS order paid now gets a receiver that answers Y.
    let js = NewOrder {
        total_fee: 1888,
        channel: Channel::Alipay,
        spec: OrderSpec::Js {
            subopen_id: "2088102146225135".into(),
        },
    };
    let OrderStart::Waiting(js_ticket) = pay.create_order(&js, &opts).unwrap() else {
        panic!("the JS order was not created")
    };
    ctl.customer_pays("demo", &js_ticket.req_seq).unwrap();
    let nasty = browser.wait_js(
        "the failed notification with the receiver's HTML answer, as text",
        "const c = document.querySelector(\
           '#notices tr[data-req-seq=\"' + arguments[0] + '\"] td.answer'); \
         return c ? c.textContent : null;",
        json!([qr_seq]),
    );
    assert!(
        nasty.as_str().unwrap().starts_with("<html><body><h1>502"),
        "{nasty}"
    );
    let markup = browser.js(
        "return document.querySelectorAll('#notices h1, #notices img, #notices body').length;",
        json!([]),
    );
    assert_eq!(
        markup,
        json!(0),
        "platform-supplied text is never parsed as HTML"
    );
    browser.wait_js(
        "the delivered notification",
        "return document.querySelector(\
           '#notices tr[data-req-seq=\"' + arguments[0] + '\"] td[data-delivered=true]') !== null;",
        json!([js_ticket.req_seq]),
    );
    let notices = ctl.notices();
    assert!(notices
        .iter()
        .any(|n| n.req_seq == qr_seq && !n.delivered && n.detail.contains("502")));
    assert!(notices
        .iter()
        .any(|n| n.req_seq == js_ticket.req_seq && n.delivered));

    // 4. Orders left waiting, for the screenshot: a QR code nobody has
    // scanned yet and a customer typing a password.
    let waiting_qr = NewOrder {
        total_fee: 1200,
        channel: Channel::Alipay,
        spec: OrderSpec::Native {
            expire_secs: Some(300),
        },
    };
    let OrderStart::Waiting(wq) = pay.create_order(&waiting_qr, &opts).unwrap() else {
        panic!("the second QR order was not created")
    };
    let typing = pay.client().issue_req_seq().unwrap();
    common::call(
        &sim,
        &PayRequest::new(typing.as_str(), 3650, "134567890123456759"),
    );
    browser.find(&format!("{} button[data-action=pay]", row(&wq.req_seq)));
    browser.find(&format!("{} button[data-action=confirm]", row(&typing)));

    // 5. The fault queue: pick from the list, queue, see it queued.
    browser.click("#fault-kind option[value=http_500]");
    browser.type_into("#fault-count", "2");
    browser.click("#fault-inject");
    browser.click("#fault-kind option[value=delay]");
    browser.type_into("#fault-delay", "1500");
    browser.type_into("#fault-count", "1");
    browser.click("#fault-inject");
    browser.wait_js(
        "three queued faults",
        "return document.querySelectorAll('#fault-queue li').length === 3;",
        json!([]),
    );
    assert_eq!(
        ctl.faults(),
        vec![
            Fault::Http500,
            Fault::Http500,
            Fault::Delay(Duration::from_millis(1500))
        ]
    );

    // Everything the page loaded came from the simulator itself.
    let loaded = browser.js(
        "return [location.origin].concat(\
           performance.getEntriesByType('resource').map(e => e.name));",
        json!([]),
    );
    let loaded: Vec<&str> = loaded
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(loaded.len() > 3, "{loaded:?}");
    for url in &loaded {
        assert!(url.starts_with(&sim.base_url()), "loaded {url}");
    }

    browser.js("window.scrollTo(0, 0); return true;", json!([]));
    browser.screenshot(&target.join("sim-console.png"));

    // 6. 中文: the same page in Chinese.
    browser.click("#lang");
    browser.wait_js(
        "the page in Chinese",
        "return document.documentElement.lang === 'zh-CN' \
           && document.querySelector('h2[data-t=orders]').textContent === '订单' \
           && document.querySelector(arguments[0] + ' td.status').textContent === '已支付' \
           && document.querySelector('#message').textContent === '已加入 1 个故障。';",
        json!([row(&qr_seq)]),
    );
    assert_eq!(
        browser.text(&format!("{} button[data-action=pay]", row(&wq.req_seq))),
        "顾客付款"
    );
    browser.screenshot(&target.join("sim-console-zh.png"));

    // No script error, no refused load (a CSP violation is logged as one).
    let log = browser
        .call("POST", "/se/log", Some(json!({ "type": "browser" })))
        .expect("the browser's console log");
    let severe: Vec<&Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["level"] == "SEVERE")
        .collect();
    assert!(severe.is_empty(), "{severe:?}");

    // 7. Clearing the queue.
    browser.click("#fault-clear");
    browser.wait_js(
        "an empty fault queue",
        "return document.querySelectorAll('#fault-queue li').length === 0 \
           && !document.querySelector('#no-faults').hidden;",
        json!([]),
    );
    assert!(ctl.faults().is_empty());

    drop(browser);
    sim.shutdown();
    println!(
        "console browser test: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
