//! A scripted checkout against the embedded simulator, through the Rust API:
//! `cargo run --example demo`.

use std::time::{Duration, Instant};

use ystpay::protocol::messages::*;
use ystpay::protocol::{types::fen_to_yuan, Channel, ProdItem, Status};
use ystpay::{Client, ClientConfig, Error};
use ystpay_sim::{SimConfig, Simulator};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim = Simulator::start(SimConfig {
        time_scale: 5.0,
        ..Default::default()
    })?;
    println!("simulator: {}", sim.api_url());
    let client = Client::new(&ClientConfig::new(
        &sim.api_url(),
        "demo",
        "demo123",
        "0123456789ABCDEF",
    ))?;

    println!("\n1. Barcode payment, paid at once");
    let mut pay = PayRequest::new("", 4320, "134567890123456701");
    pay.prod_details = vec![
        ProdItem::new("2900002400915", "奶油曲奇", 1760, "1"),
        ProdItem::new("2900002400922", "小石头", 2560, "1"),
    ];
    let paid = client.pay(&mut pay)?;
    println!(
        "   req_seq {}  status {:?}  trans_seq {}",
        pay.req_seq,
        paid.status,
        paid.trans_seq.clone().unwrap_or_default()
    );
    for line in &paid.receipts {
        println!("   | {line}");
    }

    println!("\n2. Customer enters a password (code ends 55): waiting, then polling");
    let mut slow = PayRequest::new("", 1999, "134567890123456755");
    let first = client.pay(&mut slow)?;
    println!("   answer: {:?}", first.status);
    let started = Instant::now();
    let mut queries = 0;
    let outcome = loop {
        std::thread::sleep(Duration::from_millis(250));
        queries += 1;
        let q = client.query_pay(&mut QueryPayRequest {
            req_seq: String::new(),
            auth_code: None,
            ori_seq: slow.req_seq.clone(),
        })?;
        if q.status != Some(Status::Waiting) {
            break q.status;
        }
        println!(
            "   waiting for the customer's password... ({:.1} s)",
            started.elapsed().as_secs_f64()
        );
    };
    println!("   settled {outcome:?} after {queries} queries");

    println!("\n3. Refunds: 5.00 then 3.20 of the first payment");
    let trans_seq = paid.trans_seq.unwrap_or_default();
    for fee in [500, 320] {
        let r = client.refund(&mut RefundRequest {
            req_seq: String::new(),
            trans_seq: trans_seq.clone(),
            refund_fee: fee,
            reason: "顾客退货".into(),
        })?;
        println!(
            "   refunded {} yuan, refund_seq {}",
            fen_to_yuan(fee),
            r.refund_seq.unwrap_or_default()
        );
    }
    let mut too_much = RefundRequest {
        req_seq: String::new(),
        trans_seq,
        refund_fee: 4000,
        reason: "too much".into(),
    };
    match client.refund(&mut too_much) {
        Err(Error::Refused(r)) => println!("   a 40.00 refund is refused: {} {}", r.code, r.msg),
        other => println!("   unexpected: {other:?}"),
    }

    println!("\n4. QR (native) order, then the customer scans it");
    let mut native = NativePayRequest {
        req_seq: String::new(),
        total_fee: 1200,
        expire_time: Some(300),
        channel: Channel::WeChat,
    };
    let order = client.native_pay(&mut native)?;
    println!("   pay_url {}", order.pay_url.unwrap_or_default());
    sim.control().customer_pays("demo", &native.req_seq)?;
    let q = client.native_query(&mut NativeQueryRequest {
        req_seq: String::new(),
        channel: None,
        ori_seq: native.req_seq.clone(),
    })?;
    println!("   status {:?}", q.status);

    println!("\n5. Revoke a paid payment");
    let mut p = PayRequest::new("", 800, "134567890123456702");
    client.pay(&mut p)?;
    client.revoke(&mut RevokeRequest {
        req_seq: String::new(),
        ori_seq: p.req_seq.clone(),
        channel: Some(Channel::WeChat),
        auth_code: None,
    })?;
    println!(
        "   revoked; the platform's record: {:?}",
        sim.control().order("demo", &p.req_seq).map(|o| o.status)
    );
    println!("\ndone");
    Ok(())
}
