//! `ystpay demo`: a checkout day at one register, end to end, against the
//! simulator started inside this process. Payments, refunds and orders go
//! through the payment flow and its journal, as a register's would; each
//! step checks what the platform's own records say afterwards, and the demo
//! exits 1 if any step does not end as it should.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use ystpay::config::{LogLevel, Settings};
use ystpay::flow::{
    CancelToken, FlowConfig, NewOrder, OrderSpec, OrderStart, OrderTicket, Outcome, PayOrder,
    Progress, SettleOptions, Settlement,
};
use ystpay::log::{join, Describe};
use ystpay::protocol::messages::QueryRefundRequest;
use ystpay::protocol::types::{mask, ProdItem};
use ystpay::protocol::{Channel, PaymentCode, Status};
use ystpay::qr::{BmpDepth, QrImage, TextStyle};
use ystpay::receipt::{EscPosOptions, Receipt};
use ystpay::register::{Register, Wiring};
use ystpay::time::today;
use ystpay_sim::{SimConfig, Simulator, TrueStatus};

use crate::notify::NoticeReceiver;
use crate::report::{exit, yuan};

/// `ystpay demo` options.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Divide every wait — the simulated customer's and the register's
    /// polling — by this factor; 4 makes the day take a few seconds.
    #[arg(long, value_name = "X", default_value_t = 4.0)]
    pub time_scale: f64,
    /// Do not draw the QR code.
    #[arg(long)]
    pub no_qr: bool,
    /// Where to leave the log, the journal, the receipt and the QR code
    /// (default: a new folder in the temporary directory).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// A demo failure: what went wrong.
struct Failed(String);

type Step<T> = Result<T, Failed>;

fn check(ok: bool, what: impl Into<String>) -> Step<()> {
    if ok {
        Ok(())
    } else {
        Err(Failed(what.into()))
    }
}

fn out(s: &str) {
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{s}");
    let _ = o.flush();
}

fn section(n: u32, title: &str) {
    out("");
    out(&format!(
        "── {n}. {title} {}",
        "─".repeat(66usize.saturating_sub(title.chars().count()))
    ));
}

struct Ctx {
    register: Register,
    sim: ystpay_sim::RunningSim,
    receiver: NoticeReceiver,
    scale: f64,
    no_qr: bool,
    dir: PathBuf,
}

/// Runs the demo; returns the exit code.
pub fn run(a: DemoArgs) -> i32 {
    if !(a.time_scale.is_finite() && (1.0..=1000.0).contains(&a.time_scale)) {
        eprintln!("ystpay demo: --time-scale must be a number from 1 to 1000");
        return exit::USAGE;
    }
    let started = Instant::now();
    let dir = a.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!(
            "ystpay-demo-{}-{}",
            std::process::id(),
            ystpay::time::now_ms()
        ))
    });
    let mut ctx = match setup(&a, &dir) {
        Ok(c) => c,
        Err(Failed(why)) => {
            eprintln!("ystpay demo: cannot start: {why}");
            return exit::FAILED;
        }
    };
    let result = day(&mut ctx);
    let elapsed = started.elapsed();
    match result {
        Ok(()) => {
            out("");
            out(&format!(
                "Demo finished in {:.1} s. Every step ended as the platform's own records say.",
                elapsed.as_secs_f64()
            ));
            exit::OK
        }
        Err(Failed(why)) => {
            out("");
            out(&format!(
                "DEMO FAILED after {:.1} s: {why}",
                elapsed.as_secs_f64()
            ));
            exit::FAILED
        }
    }
}

fn setup(a: &DemoArgs, dir: &Path) -> Step<Ctx> {
    std::fs::create_dir_all(dir).map_err(|e| Failed(format!("{}: {e}", dir.display())))?;
    ystpay_sim::set_verbose(false);
    let (listener, notify_url) =
        NoticeReceiver::bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
            .map_err(|e| Failed(format!("notification receiver: {e}")))?;
    let sim = Simulator::start(SimConfig {
        time_scale: a.time_scale,
        notify_url: Some(notify_url.clone()),
        ..SimConfig::default()
    })
    .map_err(|e| Failed(format!("simulator: {e}")))?;
    let device = ystpay_sim::Device::demo();
    let journal_path = dir.join("journal.db");
    let pairs = [
        ("server_url", sim.api_url()),
        ("acct", device.acct.clone()),
        ("pass", device.pass.clone()),
        ("private_key", device.private_key.clone()),
        ("register_no", "1".to_string()),
        ("journal", journal_path.display().to_string()),
        ("log_file", dir.join("ystpay.log").display().to_string()),
        ("log_level", "info".to_string()),
    ];
    let settings = Settings::from_pairs(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone(), 0))
            .collect(),
    )
    .map_err(|e| Failed(e.to_string()))?;
    // The register waits as much less as the simulated customer does.
    let mut settings = settings;
    settings.settle_deadline = settings.settle_deadline.map(|d| d.div_f64(a.time_scale));
    let wiring = Wiring {
        flow: FlowConfig::default().scaled(1.0 / a.time_scale),
        ..Wiring::default()
    };
    let register = Register::open(&settings, wiring).map_err(|e| Failed(e.to_string()))?;
    let receiver = NoticeReceiver::start(listener, register.client().clone())
        .map_err(|e| Failed(format!("notification receiver: {e}")))?;

    out("ystpay demo — a day at register 1 of the 'demo' shop, against the built-in 赢商通 simulator");
    out(&format!(
        "  simulator     {}   (every wait ÷{})",
        sim.api_url(),
        a.time_scale
    ));
    out(&format!(
        "  device        acct {}  (password and private key not shown)",
        device.acct
    ));
    out(&format!(
        "  notify_url    {notify_url}   (this process answers the platform)"
    ));
    out(&format!("  journal       {}", journal_path.display()));
    out(&format!(
        "  log           {}",
        register
            .log()
            .current_file()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    ));
    Ok(Ctx {
        register,
        sim,
        receiver,
        scale: a.time_scale,
        no_qr: a.no_qr,
        dir: dir.to_path_buf(),
    })
}

fn day(ctx: &mut Ctx) -> Step<()> {
    let first = instant_payment(ctx)?;
    password_payment(ctx)?;
    abandoned_payment(ctx)?;
    refunds(ctx, &first)?;
    native_payment(ctx)?;
    h5_and_js(ctx)?;
    totals(ctx)?;
    log_check(ctx)
}

/// Progress lines, indented, with the time since the step began.
fn printer(start: Instant) -> impl Fn(&Progress) + Sync {
    let waited = std::sync::atomic::AtomicBool::new(false);
    move |p: &Progress| {
        let at = start.elapsed().as_secs_f64();
        let line = match p {
            Progress::Sending { kind, req_seq } => format!("sending {kind} {req_seq}"),
            Progress::WaitingForCustomer { remaining, .. } => {
                if waited.swap(true, std::sync::atomic::Ordering::Relaxed) {
                    "still W — asking the platform again".to_string()
                } else {
                    format!(
                        "W — waiting for the customer (the register waits up to {:.1} s more)",
                        remaining.as_secs_f64()
                    )
                }
            }
            Progress::Querying { attempt } => format!("query {attempt}"),
            Progress::Resending { attempt } => format!("no answer: resending ({attempt})"),
            Progress::Revoking { reason, attempt } => format!(
                "{}: revoking (attempt {attempt})",
                crate::journal::reason_text(*reason)
            ),
            Progress::ShowCode { .. } => "QR code ready".to_string(),
            Progress::Finished { outcome } => format!("→ {outcome}"),
        };
        out(&format!("    … {at:>4.1} s  {line}"));
    }
}

fn settle_pay(
    ctx: &Ctx,
    order: &PayOrder,
    cancel: Option<&CancelToken>,
    quiet: bool,
) -> Step<Settlement> {
    let show = printer(Instant::now());
    let silent = |_: &Progress| {};
    let opts = SettleOptions {
        progress: Some(if quiet { &silent } else { &show }),
        cancel,
        ..SettleOptions::default()
    };
    ctx.register
        .settle_pay(None, order, &opts)
        .map_err(|e| Failed(format!("payment: {e}")))
}

/// A paid barcode payment.
struct Paid {
    req_seq: String,
    trans_seq: String,
    total_fee: i64,
}

fn instant_payment(ctx: &mut Ctx) -> Step<Paid> {
    section(1, "Barcode payment, paid at once");
    // The API document's own example basket (4.1).
    let mut cookie = ProdItem::new("2900002400915", "奶油曲奇", 1760, "1");
    cookie.goods_fee_fen = Some(1760);
    let mut stone = ProdItem::new("2900002400922", "小石头", 2560, "1");
    stone.goods_fee_fen = Some(2560);
    let fee = 1760 + 2560;
    let code = "134567890123456701";
    out(&format!(
        "  basket: 奶油曲奇 ¥17.60 + 小石头 ¥25.60 = {}",
        yuan(fee)
    ));
    out(&format!(
        "  the customer shows WeChat payment code {}",
        mask(code)
    ));
    let mut order = PayOrder::new(fee, PaymentCode::new(code));
    order.prod_details = vec![cookie, stone];
    let t = Instant::now();
    let s = settle_pay(ctx, &order, None, true)?;
    check(
        s.outcome == Outcome::Paid,
        format!("instant payment ended {}: {}", s.outcome, s.detail),
    )?;
    let trans_seq = s.trans_seq.clone().unwrap_or_default();
    out(&format!(
        "  PAID {} in {} ms — req_seq {}, trans_seq {}",
        yuan(s.total_fee),
        t.elapsed().as_millis(),
        s.req_seq,
        trans_seq
    ));
    let receipt = Receipt::new(s.receipts.clone());
    check(!receipt.is_empty(), "the platform sent no receipt")?;
    out(&format!(
        "  receipt from the platform ({} copies):",
        receipt.copies().len()
    ));
    for l in receipt.lines() {
        out(&format!("    | {l}"));
    }
    let escpos = receipt.to_escpos(&EscPosOptions::default());
    let printed = ctx.dir.join("receipt-1.escpos");
    std::fs::write(&printed, &escpos).map_err(|e| Failed(format!("{}: {e}", printed.display())))?;
    out(&format!(
        "  → {} bytes of ESC/POS for the thermal printer (GBK, a cut after each copy): {}",
        escpos.len(),
        printed.display()
    ));
    Ok(Paid {
        req_seq: s.req_seq,
        trans_seq,
        total_fee: fee,
    })
}

fn password_payment(ctx: &mut Ctx) -> Step<()> {
    section(2, "Barcode payment, the customer enters a password");
    let fee = 8800;
    // Last two digits 55: the platform answers W, the customer confirms after 5 s.
    let code = "134567890123456755";
    out(&format!(
        "  {} by WeChat, code {}; the customer has to confirm on the phone",
        yuan(fee),
        mask(code)
    ));
    let s = settle_pay(
        ctx,
        &PayOrder::new(fee, PaymentCode::new(code)),
        None,
        false,
    )?;
    check(
        s.outcome == Outcome::Paid,
        format!("password payment ended {}: {}", s.outcome, s.detail),
    )?;
    out(&format!(
        "  PAID {} after the password — trans_seq {}",
        yuan(s.total_fee),
        s.trans_seq.clone().unwrap_or_default()
    ));
    Ok(())
}

fn abandoned_payment(ctx: &mut Ctx) -> Step<()> {
    section(
        3,
        "Abandoned payment: the cashier cancels, the payment is revoked",
    );
    let fee = 2300;
    // Alipay code ending in 60: W, and the customer would give up after 10 s.
    let code = "2812345678901260";
    out(&format!(
        "  {} by Alipay, code {}; the customer walks away without confirming",
        yuan(fee),
        mask(code)
    ));
    let cancel = CancelToken::new();
    let cashier = cancel.clone();
    let after = Duration::from_secs_f64(4.0 / ctx.scale);
    let pressed = std::thread::spawn(move || {
        std::thread::sleep(after);
        out("    (the cashier presses Esc)");
        cashier.cancel();
    });
    let s = settle_pay(
        ctx,
        &PayOrder::new(fee, PaymentCode::new(code)),
        Some(&cancel),
        false,
    )?;
    let _ = pressed.join();
    check(
        s.outcome == Outcome::Revoked,
        format!("abandoned payment ended {}: {}", s.outcome, s.detail),
    )?;
    let truth = ctx
        .sim
        .control()
        .order("demo", &s.req_seq)
        .map(|o| o.status);
    check(
        matches!(truth, Some(TrueStatus::Closed)),
        format!("the platform's record of the revoked payment is {truth:?}"),
    )?;
    out("  REVOKED — the platform closed the order: no money taken");
    Ok(())
}

fn refunds(ctx: &mut Ctx, paid: &Paid) -> Step<()> {
    section(4, "Refunds: a partial refund, then a second one");
    let mut total = 0;
    let mut last = String::new();
    for (fee, reason) in [(1760, "奶油曲奇 退货"), (500, "小石头 有瑕疵，部分退款")]
    {
        let s = ctx
            .register
            .settle_refund(None, &paid.req_seq, fee, reason, &SettleOptions::default())
            .map_err(|e| Failed(format!("refund: {e}")))?;
        check(
            s.outcome == Outcome::Paid,
            format!("refund ended {}: {}", s.outcome, s.detail),
        )?;
        total += fee;
        out(&format!(
            "  REFUNDED {} of order {} ({reason}) — refund_seq {}",
            yuan(fee),
            paid.trans_seq,
            s.refund_seq.clone().unwrap_or_default()
        ));
        last = s.req_seq;
    }
    // The refund query (4.4), as support staff would ask.
    let mut q = QueryRefundRequest {
        req_seq: String::new(),
        trans_seq: paid.trans_seq.clone(),
        ori_seq: last,
    };
    let expect = ctx.register.expected_for(&q.ori_seq);
    let r = ctx
        .register
        .send(&mut q, &expect)
        .map_err(|e| Failed(format!("refund query: {e}")))?;
    check(
        r.status == Some(Status::Success),
        "the refund query does not show the refund",
    )?;
    out(&format!(
        "  refund query: the second refund is {} ({})",
        r.status.as_ref().map_or("?", |s| s.code()),
        r.head.msg.clone().unwrap_or_default()
    ));
    let truth = ctx
        .sim
        .control()
        .order("demo", &paid.req_seq)
        .map(|o| o.refunded_fee);
    check(
        truth == Some(total),
        format!("the platform refunded {truth:?}, not {total}"),
    )?;
    out(&format!(
        "  refunded {} of {}; {} can still be refunded",
        yuan(total),
        yuan(paid.total_fee),
        yuan(paid.total_fee - total)
    ));
    Ok(())
}

fn create(ctx: &Ctx, order: &NewOrder) -> Step<OrderTicket> {
    match ctx
        .register
        .create_order(order, &SettleOptions::default())
        .map_err(|e| Failed(format!("order: {e}")))?
    {
        OrderStart::Waiting(t) => Ok(t),
        OrderStart::Ended(s) => Err(Failed(format!(
            "the order ended at once: {} {}",
            s.outcome, s.detail
        ))),
    }
}

fn native_payment(ctx: &mut Ctx) -> Step<()> {
    section(5, "QR-code (native) payment, and its notification");
    let fee = 3680;
    let ticket = create(
        ctx,
        &NewOrder {
            total_fee: fee,
            channel: Channel::WeChat,
            spec: OrderSpec::Native {
                expire_secs: Some(300),
            },
        },
    )?;
    let url = ticket.pay_url.clone().unwrap_or_default();
    check(!url.is_empty(), "the QR order has no pay_url")?;
    out(&format!(
        "  order {} for {} created; the customer scans this code ({url}):",
        ticket.req_seq,
        yuan(fee)
    ));
    let qr = QrImage::encode(&url).map_err(|e| Failed(e.to_string()))?;
    if !ctx.no_qr {
        for line in qr.to_text(TextStyle::HalfBlocks).lines() {
            out(&format!("    {line}"));
        }
    }
    let png = ctx.dir.join("qr-5.png");
    let bmp = ctx.dir.join("qr-5.bmp");
    qr.write_png(&png, 8).map_err(|e| Failed(e.to_string()))?;
    qr.write_bmp(&bmp, 8, BmpDepth::Rgb24)
        .map_err(|e| Failed(e.to_string()))?;
    out(&format!(
        "  the same code for the customer display: {} and {} (Delphi TImage / PowerBuilder)",
        png.display(),
        bmp.display()
    ));
    // The customer scans and pays a moment later.
    let control = ctx.sim.control();
    let seq = ticket.req_seq.clone();
    let delay = Duration::from_secs_f64(3.0 / ctx.scale);
    let payer = std::thread::spawn(move || {
        std::thread::sleep(delay);
        out("    (the customer scans the code and pays)");
        control.customer_pays("demo", &seq)
    });
    let show = printer(Instant::now());
    let s = ctx
        .register
        .await_order(
            &ticket.req_seq,
            &SettleOptions {
                progress: Some(&show),
                ..SettleOptions::default()
            },
        )
        .map_err(|e| Failed(format!("QR order: {e}")))?;
    payer
        .join()
        .map_err(|_| Failed("the customer's thread panicked".into()))?
        .map_err(|e| Failed(format!("the customer could not pay: {e}")))?;
    check(
        s.outcome == Outcome::Paid,
        format!("the QR order ended {}: {}", s.outcome, s.detail),
    )?;
    out(&format!(
        "  PAID {} — trans_seq {}",
        yuan(s.total_fee),
        s.trans_seq.clone().unwrap_or_default()
    ));
    let notice = ctx
        .receiver
        .accepted
        .recv_timeout(Duration::from_secs(10))
        .map_err(|_| Failed("no payment notification arrived".into()))?;
    check(
        notice.notice.trans_seq == s.trans_seq,
        "the notification names another order",
    )?;
    ctx.register.log().write(
        LogLevel::Info,
        "notice",
        &format!("{} -> answered Y", join(&notice.notice.fields())),
    );
    out(&format!(
        "  notification received for order {} (delivery {}, {}, {}): answered <result>Y</result>",
        notice.notice.req_seq.clone().unwrap_or_default(),
        notice.deliveries,
        if notice.signed {
            "signature verified"
        } else {
            "confirmed by a query"
        },
        notice.notice.total_fee.map(yuan).unwrap_or_default()
    ));
    if let Ok(why) = ctx.receiver.refused.try_recv() {
        return Err(Failed(format!("a notification was refused: {why}")));
    }
    Ok(())
}

fn h5_and_js(ctx: &mut Ctx) -> Step<()> {
    section(6, "H5 and JS orders (paid in the customer's browser / app)");
    let h5 = create(
        ctx,
        &NewOrder {
            total_fee: 1500,
            channel: Channel::Alipay,
            spec: OrderSpec::H5 {
                ip: None,
                redirect_url: "https://shop.example.com/paid.html".into(),
            },
        },
    )?;
    out(&format!(
        "  H5 order {} for {} by Alipay: send the phone's browser to",
        h5.req_seq,
        yuan(1500)
    ));
    out(&format!("    {}", h5.pay_url.clone().unwrap_or_default()));
    let subopen_id = "o8tfs4224lgn3535353gdg";
    let js = create(
        ctx,
        &NewOrder {
            total_fee: 990,
            channel: Channel::WeChat,
            spec: OrderSpec::Js {
                subopen_id: subopen_id.into(),
            },
        },
    )?;
    let keys: Vec<String> = js
        .signature_info
        .as_deref()
        .and_then(|t| serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(t).ok())
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    check(!keys.is_empty(), "the JS order has no signature_info")?;
    out(&format!(
        "  JS order {} for {} by WeChat (user {}): prepay id {}",
        js.req_seq,
        yuan(990),
        mask(subopen_id),
        js.pay_url.clone().unwrap_or_default()
    ));
    out(&format!(
        "    signature_info for WeixinJSBridge getBrandWCPayRequest: {}",
        keys.join(", ")
    ));
    out("  both stay open in the journal until the customer pays or they expire");
    Ok(())
}

fn totals(ctx: &mut Ctx) -> Step<()> {
    section(7, "The day's totals, from the journal");
    let t = ctx
        .register
        .journal()
        .ok_or_else(|| Failed("the demo register has no journal".into()))?
        .day_totals(&today())
        .map_err(|e| Failed(format!("journal: {e}")))?;
    for line in crate::journal::print_totals(&t).lines() {
        out(&format!("  {line}"));
    }
    // The platform's own records must agree.
    let orders = ctx.sim.control().orders("demo");
    let platform_net: i64 = orders
        .iter()
        .filter(|o| o.status == TrueStatus::Paid)
        .map(|o| o.total_fee - o.refunded_fee)
        .sum();
    check(
        platform_net == t.net_fee(),
        format!(
            "the platform's records say {} but the journal says {}",
            yuan(platform_net),
            yuan(t.net_fee())
        ),
    )?;
    check(
        orders.iter().all(|o| o.pay_count <= 1),
        "an order was paid twice",
    )?;
    check(t.open_count == 2, "the two browser orders should be open")?;
    out(&format!(
        "  the platform's records agree: {} net, no order paid twice",
        yuan(platform_net)
    ));
    out(&format!(
        "  again later: ystpay journal list --journal {}",
        ctx.dir.join("journal.db").display()
    ));
    Ok(())
}

fn log_check(ctx: &mut Ctx) -> Step<()> {
    let Some(path) = ctx.register.log().current_file() else {
        return Ok(());
    };
    let text = std::fs::read_to_string(&path).map_err(|e| Failed(format!("log: {e}")))?;
    let device = ystpay_sim::Device::demo();
    let dsn = device.dsn();
    let codes = [
        "134567890123456701",
        "134567890123456755",
        "2812345678901260",
    ];
    let leaked = [
        device.pass.as_str(),
        device.private_key.as_str(),
        dsn.as_str(),
    ]
    .into_iter()
    .chain(codes)
    .any(|s| text.contains(s));
    check(!leaked, "the log contains a secret")?;
    out("");
    out(&format!(
        "Log: {} ({} lines; no private key, password, dsn or full payment code in it)",
        path.display(),
        text.lines().count()
    ));
    if let Some(line) = text.lines().find(|l| l.contains(" settle-pay settled")) {
        out(&format!("  e.g. {line}"));
    }
    Ok(())
}
