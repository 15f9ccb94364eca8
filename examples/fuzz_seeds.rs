//! Writes the fuzzers' seed corpus from real simulator traffic.
//!
//! ```sh
//! cargo run --example fuzz_seeds -- fuzz/seeds
//! ```
//!
//! Starts the simulator, runs every interface through a client whose
//! transport records each request and answer body, and writes, per fuzz
//! target, the inputs that target reads: raw envelopes, decrypted `<data>`
//! documents, notices in both forms, ciphertexts, configuration files.
//! File names are the MD5 of the content, so reruns do not duplicate.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ystpay::protocol::crypto;
use ystpay::protocol::messages::*;
use ystpay::protocol::xml::Fields;
use ystpay::protocol::{Channel, ProdItem, RequestEnvelope, ResponseEnvelope};
use ystpay::transport::{HttpSettings, HttpTransport, Transport, TransportError};
use ystpay::{Client, ClientConfig};
use ystpay_sim::{SimConfig, Simulator};

/// The `req_seq` the `sealed_answer` fuzz target sends (fuzz/fuzz_targets/common.rs).
const FUZZ_REQ_SEQ: &str = "20240101000000000001";

/// Records every exchange.
struct Recorder {
    inner: HttpTransport,
    log: Mutex<Vec<(Vec<u8>, Vec<u8>)>>,
}

impl Transport for Recorder {
    fn post(&self, url: &str, body: &[u8]) -> Result<Vec<u8>, TransportError> {
        let answer = self.inner.post(url, body)?;
        self.log
            .lock()
            .unwrap()
            .push((body.to_vec(), answer.clone()));
        Ok(answer)
    }
}

fn write(dir: &Path, target: &str, bytes: &[u8]) {
    let d = dir.join(target);
    std::fs::create_dir_all(&d).expect("create seed dir");
    std::fs::write(d.join(crypto::md5_upper(bytes)), bytes).expect("write seed");
}

/// Which `sealed_answer` operation byte answers a response type.
fn op_byte(response_type: &str) -> u8 {
    match response_type {
        "unitive_pay_response" => 0,
        "unitive_query_pay_response" => 1,
        "unitive_refund_response" => 2,
        "unitive_query_refund_response" => 3,
        "unitive_revoke_response" => 4,
        "unitive_native_pay_response" => 5,
        "unitive_native_query_pay_response" => 6,
        "jspay_response" => 7,
        _ => 8,
    }
}

fn main() {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/seeds".into()),
    );
    let sim = Simulator::start(SimConfig {
        time_scale: 50.0,
        ..SimConfig::default()
    })
    .expect("simulator starts");
    let rec = Arc::new(Recorder {
        inner: HttpTransport::new(&HttpSettings::default()).expect("transport"),
        log: Mutex::new(Vec::new()),
    });
    let cfg = ClientConfig::new(&sim.api_url(), "demo", "demo123", "0123456789ABCDEF");
    let dsn = crypto::derive_dsn("demo", "0123456789ABCDEF", "demo123");
    let c = Client::with_transport(&cfg, rec.clone()).expect("client");

    // Every interface, and the scenarios that shape answers differently.
    let mut paid = None;
    for code in [
        "134567890123456701", // paid at once
        "2812345678901201",   // Alipay, paid
        "134567890123456755", // customer enters password
        "134567890123456771", // refused: balance
        "134567890123456783", // busy, but paid
        "999",                // no channel
    ] {
        let mut p = PayRequest::new("", 1760, code);
        if code.ends_with("01") && paid.is_none() {
            p.prod_details = vec![ProdItem::new(
                "2900002400915",
                "奶油曲奇 & <小石头>",
                1760,
                "1",
            )];
        }
        let r = c.pay(&mut p);
        if let Ok(a) = &r {
            if paid.is_none() {
                paid = a.trans_seq.clone().map(|t| (p.req_seq.clone(), t));
            }
        }
        let _ = c.query_pay(&mut QueryPayRequest {
            req_seq: String::new(),
            auth_code: None,
            ori_seq: p.req_seq.clone(),
        });
    }
    let (paid_seq, trans) = paid.expect("a paid order");
    let mut refund = RefundRequest {
        req_seq: String::new(),
        trans_seq: trans.clone(),
        refund_fee: 100,
        reason: "用户对商品不满意 & 退货".into(),
    };
    let _ = c.refund(&mut refund);
    let _ = c.query_refund(&mut QueryRefundRequest {
        req_seq: String::new(),
        trans_seq: trans.clone(),
        ori_seq: refund.req_seq.clone(),
    });
    let _ = c.revoke(&mut RevokeRequest {
        req_seq: String::new(),
        ori_seq: paid_seq,
        channel: Some(Channel::WeChat),
        auth_code: None,
    });
    let mut native = NativePayRequest {
        req_seq: String::new(),
        total_fee: 1,
        expire_time: Some(300),
        channel: Channel::Alipay,
    };
    let _ = c.native_pay(&mut native);
    sim.control()
        .customer_pays("demo", &native.req_seq)
        .expect("customer pays");
    let settled = c.native_query(&mut NativeQueryRequest {
        req_seq: String::new(),
        channel: None,
        ori_seq: native.req_seq.clone(),
    });
    for ch in [Channel::WeChat, Channel::Alipay] {
        let _ = c.js_pay(&mut JsPayRequest {
            req_seq: String::new(),
            total_fee: 1,
            channel: ch.clone(),
            subopen_id: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into(),
        });
        let _ = c.h5_pay(&mut H5PayRequest {
            req_seq: String::new(),
            total_fee: 1,
            channel: ch,
            ip: Some("125.71.132.197".into()),
            redirect_url: "http://xxx.com/call.html?xxx=xxxx".into(),
        });
    }

    let log = rec.log.lock().unwrap().clone();
    for (req, resp) in &log {
        write(&dir, "request_side", req);
        write(&dir, "envelope", resp);
        let req_text = std::str::from_utf8(req).expect("utf-8");
        let env = RequestEnvelope::parse(req_text).expect("request envelope");
        let req_plain = env.open("0123456789ABCDEF").expect("request opens");
        write(&dir, "request_side", req_plain.as_bytes());
        write(&dir, "request_side", env.data.as_bytes());
        let resp_text = std::str::from_utf8(resp).expect("utf-8");
        let renv = ResponseEnvelope::parse(resp_text).expect("response envelope");
        let plain = renv.open(&dsn).expect("response opens");
        write(&dir, "envelope", renv.data.as_bytes());
        write(&dir, "response_messages", plain.as_bytes());
        let mut ct = vec![0u8];
        ct.extend(crypto::base64_decode(&renv.data).expect("base64"));
        write(&dir, "crypto", &ct);
        let mut b64 = vec![0u8];
        b64.extend(renv.data.as_bytes());
        write(&dir, "crypto", &b64);
        let f = Fields::parse(&plain, Some("data")).expect("data");
        let seq = f.get("req_seq").unwrap_or_default().to_string();
        let mut answer = vec![op_byte(f.get("response_type").unwrap_or_default())];
        answer.extend(
            plain
                .replace(
                    &format!("<req_seq>{seq}</req_seq>"),
                    &format!("<req_seq>{FUZZ_REQ_SEQ}</req_seq>"),
                )
                .as_bytes(),
        );
        write(&dir, "sealed_answer", &answer);
    }

    // Notices (API §5.5) from the paid native order, in both forms.
    if let Ok(a) = settled {
        let n = OrderNotice {
            request_type: Some(NOTICE_TYPE.into()),
            req_seq: Some(native.req_seq.clone()),
            server_time: a.head.server_time.clone(),
            channel: a.channel.clone(),
            trans_seq: a.trans_seq.clone(),
            ext_trans_id: Some("4200000001201506091234567890".into()),
            total_fee: a.total_fee,
            status: a.status.clone(),
            pay_time: a.pay_time.clone().or(Some("2015-06-09 11:17:48".into())),
        };
        let plain = n.to_xml();
        write(&dir, "notice", plain.as_bytes());
        write(&dir, "response_messages", plain.as_bytes());
        let sealed = ResponseEnvelope::seal(&dsn, "1426497738440", &plain)
            .expect("seal")
            .to_xml();
        write(&dir, "notice", sealed.as_bytes());
        let seed_form = plain
            .replace("<req_seq>", "<req>")
            .replace("</req_seq>", "</req>");
        write(&dir, "notice", seed_form.as_bytes());
    }
    write(
        &dir,
        "response_messages",
        NoticeReply {
            result: true,
            message: "成功".into(),
        }
        .to_xml()
        .as_bytes(),
    );

    // Configuration files: the module's example and every key.
    let example = format!(
        "\u{feff}; ystpay.ini\n[ystpay]\nserver_url = {}\nacct = demo\npass = \"demo123\"\n\
         private_key = 0123456789ABCDEF\nread_timeout_ms = 20000\nencoding = gbk\n",
        sim.api_url()
    );
    write(&dir, "config", example.as_bytes());
    let full = "server_url=https://pay.example.com/ystpay/service/unitive.api\r\nacct=d0001\r\n\
                dsn=669262B6A21A3B4E4610A78ACF29AE71\r\nprivate_key=A1B2C3D4E5F6G7H8A1B2C3D4\r\n\
                connect_timeout_ms=5000\r\nread_timeout_ms=20000\r\nproxy=http://10.0.0.1:3128\r\n\
                register_no=12\r\nallow_http=0\r\nca_file=/etc/ystpay/ca.pem\r\nencoding=utf-8\r\n\
                journal=ystpay.db\r\nlog_file=ystpay.log\r\nlog_level=debug\r\nsettle_deadline_s=60\r\n";
    write(&dir, "config", full.as_bytes());

    // The C entry points (fuzz target c_abi): selector byte (bit 7: GBK
    // client; (byte & 0x7f) % 22: function), then NUL-separated arguments.
    let join = |sel: u8, parts: &[&[u8]]| -> Vec<u8> {
        let mut v = vec![sel];
        v.extend(parts.join(&0u8));
        v
    };
    let c_abi: Vec<Vec<u8>> = vec![
        join(0x00, &[example.as_bytes()]),
        join(
            0x01,
            &[
                b"http://127.0.0.1:9/x",
                b"demo",
                b"demo123",
                b"0123456789ABCDEF",
                b"5000",
                b"20000",
            ],
        ),
        join(
            0x81,
            &[
                b"http://127.0.0.1:9/x",
                b"\xc9\xcc\xbb\xa7",
                b"demo123",
                b"0123456789ABCDEF",
                b"0",
                b"0",
            ],
        ),
        join(0x04, &["成功".as_bytes(), b"64"]),
        join(0x84, &[b"\xb3\xc9\xb9\xa6", b"8"]),
        join(0x05, &[b"", b"100", b"134567890123456701", b"W"]),
        join(0x85, &[b"P1", b"1760", b"134567890123456701", b""]),
        join(0x06, &[b"", b"20240101000000000001", b""]),
        join(
            0x07,
            &[b"", b"15042118055639386597", b"1", "退货 & <>".as_bytes()],
        ),
        join(
            0x87,
            &[b"", b"15042118055639386597", b"1", b"\xcd\xcb\xbb\xf5"],
        ),
        join(0x08, &[b"", b"1", b"2"]),
        join(0x09, &[b"", b"1", b"W", b""]),
        join(0x0a, &[b"", b"1", b"300", b"A"]),
        join(0x0b, &[b"", b"1", b""]),
        join(0x0c, &[b"", b"1", b"W", b"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"]),
        join(
            0x0d,
            &[
                b"",
                b"1",
                b"W",
                b"125.71.132.197",
                b"http://xxx.com/call.html?xxx=xxxx",
            ],
        ),
        join(0x0e, &[b"2024-01-01"]),
        join(0x0f, &[b"20240101000000000001"]),
        join(0x10, &[b"", b"0"]),
        join(0x11, &[b"20240101000000000001"]),
        join(
            0x12,
            &[
                b"http://127.0.0.1:9/x",
                b"demo",
                b"demo123",
                b"0123456789ABCDEF",
                b"0",
                b"0",
                b"60000",
            ],
        ),
        join(0x13, &[b"weixin://wxpay/bizpayurl?pr=abc123", b"4", b"384"]),
        join(0x14, &[b"https://qr.alipay.com/bax01234?x=1&y=2", b"0"]),
        join(0x15, &[b"16"]),
    ];
    for seed in c_abi {
        write(&dir, "c_abi", &seed);
    }
    if let Ok(entries) = std::fs::read_dir(dir.join("notice")) {
        for e in entries.flatten() {
            let body = std::fs::read(e.path()).expect("notice seed");
            for sel in [0x02u8, 0x03] {
                let mut v = vec![sel];
                v.extend(&body);
                write(&dir, "c_abi", &v);
            }
        }
    }

    println!("{} exchanges recorded into {}", log.len(), dir.display());
    sim.shutdown();
}
