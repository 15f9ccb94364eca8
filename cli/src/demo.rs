//! `ystpay demo`: a checkout day at one register, end to end, against the
//! simulator started inside this process. Each step checks what the
//! platform's own records say afterwards; the demo exits 1 if any step does
//! not end as it should.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use ystpay::config::Settings;
use ystpay::log::Logger;
use ystpay::protocol::messages::{
    H5PayRequest, JsPayRequest, NativePayRequest, NativeQueryRequest, PayRequest,
    QueryRefundRequest, RefundRequest,
};
use ystpay::protocol::types::{mask, ProdItem};
use ystpay::protocol::{Channel, PaymentCode, Status};
use ystpay::qr::{QrImage, TextStyle};
use ystpay::receipt::{EscPosOptions, Receipt};
use ystpay::Client;
use ystpay_sim::{SimConfig, Simulator, TrueStatus};

use crate::notify::NoticeReceiver;
use crate::report::{exit, yuan};
use crate::settle::{settle_pay, Progress, Settled, Timing};

/// `ystpay demo` options.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Divide the simulator's waits (password entry, abandonment) by this
    /// factor; 4 makes the day take a few seconds.
    #[arg(long, value_name = "X", default_value_t = 4.0)]
    pub time_scale: f64,
    /// Do not draw the QR code.
    #[arg(long)]
    pub no_qr: bool,
    /// Write the day's log here (default: a file in the temporary directory).
    #[arg(long, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
}

/// A demo failure: which step, and what went wrong.
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
        "─".repeat(60usize.saturating_sub(title.chars().count()))
    ));
}

/// What the register took today, from its own answers.
#[derive(Default)]
struct Day {
    paid: Vec<(String, i64)>,
    refunds: Vec<(String, i64)>,
    revoked: Vec<(String, i64)>,
    open: Vec<(String, i64)>,
}

struct Ctx {
    client: Arc<Client>,
    log: Arc<Logger>,
    sim: ystpay_sim::RunningSim,
    receiver: NoticeReceiver,
    scale: f64,
    no_qr: bool,
    day: Day,
    /// Where the demo leaves what a register would print or show.
    files: PathBuf,
}

/// Runs the demo; returns the exit code.
pub fn run(a: DemoArgs) -> i32 {
    if !(a.time_scale.is_finite() && a.time_scale >= 1.0) {
        eprintln!("ystpay demo: --time-scale must be a number of at least 1");
        return exit::USAGE;
    }
    let started = Instant::now();
    let log_path = a.log_file.clone().unwrap_or_else(|| {
        std::env::temp_dir()
            .join(format!("ystpay-demo-{}", std::process::id()))
            .join("ystpay.log")
    });
    let mut ctx = match setup(&a, &log_path) {
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

fn setup(a: &DemoArgs, log_path: &std::path::Path) -> Step<Ctx> {
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
    let pairs = [
        ("server_url", sim.api_url()),
        ("acct", device.acct.clone()),
        ("pass", device.pass.clone()),
        ("private_key", device.private_key.clone()),
        ("register_no", "1".to_string()),
        ("log_file", log_path.display().to_string()),
        ("log_level", "info".to_string()),
    ];
    let settings = Settings::from_pairs(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone(), 0))
            .collect(),
    )
    .map_err(|e| Failed(e.to_string()))?;
    let log = Logger::from_settings(&settings).map_err(|e| Failed(e.to_string()))?;
    let client = Arc::new(Client::new(&settings.client).map_err(|e| Failed(e.to_string()))?);
    let receiver = NoticeReceiver::start(listener, client.clone())
        .map_err(|e| Failed(format!("notification receiver: {e}")))?;

    out("ystpay demo — a day at register 1 of the 'demo' shop, against the built-in 赢商通 simulator");
    out(&format!(
        "  simulator     {}   (waits ÷{})",
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
    out(&format!(
        "  log           {}",
        log.current_file()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    ));
    Ok(Ctx {
        client,
        log: Arc::new(log),
        sim,
        receiver,
        scale: a.time_scale,
        no_qr: a.no_qr,
        day: Day::default(),
        files: log_path
            .parent()
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir),
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

/// A paid barcode payment: its req_seq, trans_seq and amount.
struct Paid {
    trans_seq: String,
    total_fee: i64,
}

fn instant_payment(ctx: &mut Ctx) -> Step<Paid> {
    section(1, "Barcode payment, paid at once");
    // The seed's own example basket (4.1).
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
        "  customer shows WeChat payment code {}",
        mask(code)
    ));
    let mut req = PayRequest::new("", fee, PaymentCode::new(code));
    req.prod_details = vec![cookie, stone];
    let t = Instant::now();
    let r = ctx
        .log
        .send(&ctx.client, "pay", &mut req)
        .map_err(|e| Failed(format!("instant payment: {e}")))?;
    check(
        r.status == Some(Status::Success),
        "instant payment was not paid",
    )?;
    let trans_seq = r.trans_seq.clone().unwrap_or_default();
    out(&format!(
        "  PAID {} in {} ms — req_seq {}, trans_seq {}",
        yuan(r.total_fee.unwrap_or(fee)),
        t.elapsed().as_millis(),
        req.req_seq,
        trans_seq
    ));
    let receipt = Receipt::new(r.receipts.clone());
    let copies = receipt.copies();
    out(&format!(
        "  receipt from the platform ({} copies):",
        copies.len()
    ));
    for l in receipt.lines() {
        out(&format!("    | {l}"));
    }
    let escpos = receipt.to_escpos(&EscPosOptions::default());
    let printed = ctx.files.join("receipt-1.escpos");
    std::fs::write(&printed, &escpos).map_err(|e| Failed(format!("{}: {e}", printed.display())))?;
    out(&format!(
        "  → {} bytes of ESC/POS for the thermal printer (GBK text, a cut after each copy): {}",
        escpos.len(),
        printed.display()
    ));
    check(!receipt.is_empty(), "the platform sent no receipt")?;
    ctx.day.paid.push((req.req_seq.clone(), fee));
    Ok(Paid {
        trans_seq,
        total_fee: fee,
    })
}

fn password_payment(ctx: &mut Ctx) -> Step<()> {
    section(2, "Barcode payment, the customer enters a password");
    let fee = 8800;
    // Last two digits 55: the platform answers W, the customer confirms after 5 s.
    let code = "134567890123456755";
    out(&format!("  {} by WeChat, code {}", yuan(fee), mask(code)));
    let mut req = PayRequest::new("", fee, PaymentCode::new(code));
    let timing = Timing {
        interval: Duration::from_secs_f64(1.0 / ctx.scale.max(1.0)).max(Duration::from_millis(100)),
        deadline: Duration::from_secs(60),
    };
    let settled = settle_pay(
        &ctx.client,
        &ctx.log,
        &mut req,
        timing,
        &|_| false,
        &mut progress_printer(),
    );
    match settled {
        Settled::Paid(r) => {
            out(&format!(
                "  PAID {} after the password — trans_seq {}",
                yuan(r.total_fee.unwrap_or(fee)),
                r.trans_seq.clone().unwrap_or_default()
            ));
            ctx.day.paid.push((req.req_seq.clone(), fee));
            Ok(())
        }
        other => Err(Failed(format!("password payment ended as {other:?}"))),
    }
}

fn progress_printer() -> impl FnMut(Progress) {
    move |p| match p {
        Progress::Answered(Some(Status::Waiting)) => {
            out("  platform: W — waiting for the customer to confirm on the phone")
        }
        Progress::Answered(Some(s)) => out(&format!("  platform: {s}")),
        Progress::Answered(None) => out("  no clear answer — querying"),
        Progress::Polled { n, elapsed, status } => out(&format!(
            "    … {:>4.1} s  query {n}: {}",
            elapsed.as_secs_f64(),
            match status {
                Some(Status::Waiting) => "W, still waiting".to_string(),
                Some(Status::Success) => "S, paid".to_string(),
                Some(Status::Failed) => "F, not paid".to_string(),
                Some(other) => other.to_string(),
                None => "no answer".to_string(),
            }
        )),
        Progress::Revoking { reason } => out(&format!("  {reason} → revoking the payment")),
    }
}

fn abandoned_payment(ctx: &mut Ctx) -> Step<()> {
    section(
        3,
        "Barcode payment abandoned: the cashier cancels, the payment is revoked",
    );
    let fee = 2300;
    // Alipay code ending in 60: W, and the customer would give up after 10 s.
    let code = "2812345678901260";
    out(&format!(
        "  {} by Alipay, code {}; the customer walks away without confirming",
        yuan(fee),
        mask(code)
    ));
    let mut req = PayRequest::new("", fee, PaymentCode::new(code));
    let cancel_after = Duration::from_secs_f64(4.0 / ctx.scale);
    let timing = Timing {
        interval: Duration::from_secs_f64(1.0 / ctx.scale).max(Duration::from_millis(100)),
        deadline: Duration::from_secs(60),
    };
    let settled = settle_pay(
        &ctx.client,
        &ctx.log,
        &mut req,
        timing,
        &|elapsed| elapsed >= cancel_after,
        &mut progress_printer(),
    );
    check(
        settled == Settled::Revoked,
        format!("abandoned payment ended as {settled:?}"),
    )?;
    let truth = ctx.sim.control().order("demo", &req.req_seq);
    let status = truth.as_ref().map(|o| o.status);
    check(
        matches!(status, Some(TrueStatus::Closed)),
        format!("the platform's record of the revoked payment is {status:?}"),
    )?;
    out("  REVOKED — the platform closed the order: no money taken");
    ctx.day.revoked.push((req.req_seq.clone(), fee));
    Ok(())
}

fn refunds(ctx: &mut Ctx, paid: &Paid) -> Step<()> {
    section(4, "Refunds: a partial refund, then a second one");
    let mut total = 0;
    let mut last_seq = String::new();
    for (fee, reason) in [(1760, "奶油曲奇 退货"), (500, "小石头 有瑕疵，部分退款")]
    {
        let mut req = RefundRequest {
            req_seq: String::new(),
            trans_seq: paid.trans_seq.clone(),
            refund_fee: fee,
            reason: reason.to_string(),
        };
        let r = ctx
            .log
            .send(&ctx.client, "refund", &mut req)
            .map_err(|e| Failed(format!("refund: {e}")))?;
        check(r.status == Some(Status::Success), "refund not accepted")?;
        total += fee;
        out(&format!(
            "  REFUNDED {} of order {} ({reason}) — refund_seq {}",
            yuan(fee),
            paid.trans_seq,
            r.refund_seq.clone().unwrap_or_default()
        ));
        ctx.day.refunds.push((req.req_seq.clone(), fee));
        last_seq = req.req_seq.clone();
    }
    let mut q = QueryRefundRequest {
        req_seq: String::new(),
        trans_seq: paid.trans_seq.clone(),
        ori_seq: last_seq,
    };
    let r = ctx
        .log
        .send(&ctx.client, "refund-query", &mut q)
        .map_err(|e| Failed(format!("refund query: {e}")))?;
    check(
        r.status == Some(Status::Success),
        "refund query does not show the refund",
    )?;
    out(&format!(
        "  refund query: the second refund is {} ({})",
        r.status.as_ref().map_or("?", |s| s.code()),
        r.head.msg.clone().unwrap_or_default()
    ));
    out(&format!(
        "  refunded {} of {}; {} can still be refunded",
        yuan(total),
        yuan(paid.total_fee),
        yuan(paid.total_fee - total)
    ));
    Ok(())
}

fn native_payment(ctx: &mut Ctx) -> Step<()> {
    section(5, "QR-code (native) payment, and its notification");
    let fee = 3680;
    let mut req = NativePayRequest {
        req_seq: String::new(),
        total_fee: fee,
        expire_time: Some(300),
        channel: Channel::WeChat,
    };
    let r = ctx
        .log
        .send(&ctx.client, "native-pay", &mut req)
        .map_err(|e| Failed(format!("native pay: {e}")))?;
    let url = r.pay_url.clone().unwrap_or_default();
    check(!url.is_empty(), "native order has no pay_url")?;
    out(&format!(
        "  order {} for {} created; the customer scans this code ({url}):",
        req.req_seq,
        yuan(fee)
    ));
    let qr = QrImage::encode(&url).map_err(|e| Failed(e.to_string()))?;
    if !ctx.no_qr {
        for line in qr.to_text(TextStyle::HalfBlocks).lines() {
            out(&format!("    {line}"));
        }
    }
    let png = ctx.files.join("qr-5.png");
    let bmp = ctx.files.join("qr-5.bmp");
    qr.write_png(&png, 8).map_err(|e| Failed(e.to_string()))?;
    qr.write_bmp(&bmp, 8, ystpay::qr::BmpDepth::Rgb24)
        .map_err(|e| Failed(e.to_string()))?;
    out(&format!(
        "  the same code for the customer display: {} and {} (for Delphi TImage / PowerBuilder)",
        png.display(),
        bmp.display()
    ));
    // The customer scans and pays a moment later.
    let control = ctx.sim.control();
    let seq = req.req_seq.clone();
    let payer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(700));
        control.customer_pays("demo", &seq)
    });
    let start = Instant::now();
    let mut n = 0;
    let paid = loop {
        std::thread::sleep(Duration::from_millis(250));
        n += 1;
        let mut q = NativeQueryRequest {
            req_seq: String::new(),
            channel: Some(Channel::WeChat),
            ori_seq: req.req_seq.clone(),
        };
        let answer = ctx.log.send(&ctx.client, "native-query", &mut q);
        let status = answer.as_ref().ok().and_then(|a| a.status.clone());
        out(&format!(
            "    … {:>4.1} s  query {n}: {}",
            start.elapsed().as_secs_f64(),
            match &status {
                Some(Status::Waiting) => "W, not scanned yet",
                Some(Status::Success) => "S, paid",
                Some(Status::Failed) => "F, closed",
                _ => "no answer",
            }
        ));
        match status {
            Some(Status::Success) => break answer.ok(),
            Some(Status::Failed) => return Err(Failed("the QR order closed unpaid".into())),
            _ if start.elapsed() > Duration::from_secs(15) => {
                return Err(Failed("the QR order was not paid in time".into()))
            }
            _ => {}
        }
    };
    let pays = payer
        .join()
        .map_err(|_| Failed("customer thread panicked".into()))?;
    pays.map_err(|e| Failed(format!("the customer could not pay: {e}")))?;
    let paid = paid.ok_or_else(|| Failed("no answer".into()))?;
    out(&format!(
        "  PAID {} — trans_seq {}",
        yuan(paid.total_fee.unwrap_or(fee)),
        paid.trans_seq.clone().unwrap_or_default()
    ));
    ctx.day.paid.push((req.req_seq.clone(), fee));
    let notice = ctx
        .receiver
        .accepted
        .recv_timeout(Duration::from_secs(10))
        .map_err(|_| Failed("no payment notification arrived".into()))?;
    check(
        notice.notice.trans_seq == paid.trans_seq,
        "the notification names another order",
    )?;
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
    let mut h5 = H5PayRequest {
        req_seq: String::new(),
        total_fee: 1500,
        channel: Channel::Alipay,
        ip: None,
        redirect_url: "https://shop.example.com/paid.html".into(),
    };
    let r = ctx
        .log
        .send(&ctx.client, "h5-pay", &mut h5)
        .map_err(|e| Failed(format!("h5 pay: {e}")))?;
    check(r.status == Some(Status::Waiting), "H5 order is not waiting")?;
    out(&format!(
        "  H5 order {} for {} by Alipay: send the phone's browser to",
        h5.req_seq,
        yuan(h5.total_fee)
    ));
    out(&format!("    {}", r.pay_info.clone().unwrap_or_default()));
    ctx.day.open.push((h5.req_seq.clone(), h5.total_fee));

    let mut js = JsPayRequest {
        req_seq: String::new(),
        total_fee: 990,
        channel: Channel::WeChat,
        subopen_id: "o8tfs4224lgn3535353gdg".into(),
    };
    let r = ctx
        .log
        .send(&ctx.client, "js-pay", &mut js)
        .map_err(|e| Failed(format!("js pay: {e}")))?;
    check(r.status == Some(Status::Waiting), "JS order is not waiting")?;
    let keys: Vec<String> = r
        .signature_info_map()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    check(!keys.is_empty(), "JS order has no signature_info")?;
    out(&format!(
        "  JS order {} for {} by WeChat (user {}): prepay id {}",
        js.req_seq,
        yuan(js.total_fee),
        mask(&js.subopen_id),
        r.pay_url.clone().unwrap_or_default()
    ));
    out(&format!(
        "    signature_info for WeixinJSBridge getBrandWCPayRequest: {}",
        keys.join(", ")
    ));
    ctx.day.open.push((js.req_seq.clone(), js.total_fee));
    out("  both stay open until the customer pays or they expire (5.2 query tells)");
    Ok(())
}

fn totals(ctx: &mut Ctx) -> Step<()> {
    section(7, "The day's totals");
    let d = &ctx.day;
    let sum = |v: &Vec<(String, i64)>| v.iter().map(|(_, f)| f).sum::<i64>();
    let rows = [
        ("payments taken", d.paid.len(), sum(&d.paid)),
        ("refunds", d.refunds.len(), sum(&d.refunds)),
        ("revoked (no money taken)", d.revoked.len(), sum(&d.revoked)),
        ("orders still open", d.open.len(), sum(&d.open)),
    ];
    for (what, n, fee) in rows {
        out(&format!("  {what:<26} {n:>3}   {:>10}", yuan(fee)));
    }
    let net = sum(&d.paid) - sum(&d.refunds);
    out(&format!("  {:<26}       {:>10}", "net takings", yuan(net)));
    // The platform's own records must agree.
    let orders = ctx.sim.control().orders("demo");
    let platform_paid: i64 = orders
        .iter()
        .filter(|o| o.status == TrueStatus::Paid)
        .map(|o| o.total_fee - o.refunded_fee)
        .sum();
    check(
        platform_paid == net,
        format!(
            "the platform's records say {} but the register says {}",
            yuan(platform_paid),
            yuan(net)
        ),
    )?;
    check(
        orders.iter().all(|o| o.pay_count <= 1),
        "an order was paid twice",
    )?;
    out(&format!(
        "  the platform's records agree: {} net, no order paid twice",
        yuan(platform_paid)
    ));
    Ok(())
}

fn log_check(ctx: &mut Ctx) -> Step<()> {
    let Some(path) = ctx.log.current_file() else {
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
    if let Some(line) = text.lines().find(|l| l.contains(" pay ")) {
        out(&format!("  e.g. {line}"));
    }
    Ok(())
}
