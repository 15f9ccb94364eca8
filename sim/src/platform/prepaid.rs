//! The prepaid interfaces: native (QR) pay and query (API §5.1/§5.2), JS
//! pay (API §6.1) and H5 pay (API §7.1); the customer paying such an
//! order and its payment notification (API §5.5).

use std::time::Instant;

use ystpay::protocol::{
    Channel, H5PayRequest, H5PayResponse, JsPayRequest, JsPayResponse, NativePayRequest,
    NativePayResponse, NativeQueryRequest, OrderNotice, Request, Response, Status, NOTICE_TYPE,
};

use super::answers::{order_answer, R_CLOSED};
use super::orders::Order;
use super::{lock, DeviceRec, Platform};
use crate::util::{china_now, log, pay_time, server_time, url_encode};
use crate::{OrderKind, TrueStatus};

/// The API document's notification retry schedule (API §5.5), in seconds before each attempt.
pub(crate) const NOTICE_SCHEDULE: [u64; 6] = [0, 30, 30, 60, 300, 900];

/// A payment notification to deliver.
pub(crate) struct Notice {
    pub merchant: String,
    pub req_seq: String,
    pub dsn: String,
    pub plain: String,
}

/// What a native/JS/H5 pay request asks for.
struct Prepaid<'s> {
    seq: &'s str,
    kind: OrderKind,
    total_fee: i64,
    channel: &'s Channel,
    expire_secs: u64,
    fp: String,
}

impl Platform {
    /// The customer pays a waiting native/JS/H5 order now; when a notify
    /// URL is configured, the notification (API §5.5) goes out.
    pub(crate) fn customer_pays(
        self: &std::sync::Arc<Self>,
        merchant: &str,
        req_seq: &str,
    ) -> Result<(), String> {
        let notice = self.customer_order(merchant, req_seq, false, |o| {
            o.mark_paid();
            log(&format!("customer paid {merchant}/{req_seq}"));
            let dsn = self
                .devices
                .values()
                .find(|d| d.merchant == merchant && d.acct == o.acct)
                .map(|d| d.dsn.clone())
                .unwrap_or_default();
            let n = OrderNotice {
                request_type: Some(NOTICE_TYPE.to_string()),
                req_seq: Some(o.req_seq.clone()),
                server_time: Some(server_time(china_now())),
                channel: o.channel(),
                trans_seq: Some(o.trans_seq.clone()),
                ext_trans_id: Some(format!("4200{}{}", o.trans_seq, &o.trans_seq[..8])),
                total_fee: Some(o.total_fee),
                status: Some(Status::Success),
                pay_time: o.pay_time.map(pay_time),
            };
            Notice {
                merchant: merchant.to_string(),
                req_seq: req_seq.to_string(),
                dsn,
                plain: n.to_xml(),
            }
        })?;
        if let Some(url) = self.notify_url.clone() {
            crate::notify::spawn(self.clone(), url, notice);
        }
        Ok(())
    }

    /// Answers pay request `Q` (API §5.1, §6.1, §7.1) with `answer` about
    /// the order it asks for: the known one on a retry, else a new waiting
    /// one that closes after `expire_secs` (scaled), filled in by `init`.
    /// Refused when the `req_seq` was revoked or reused with other content.
    fn prepaid<Q>(
        &self,
        dev: &DeviceRec,
        spec: Prepaid<'_>,
        init: impl FnOnce(&mut Order),
        answer: impl FnOnce(&Order) -> String,
    ) -> String
    where
        Q: Request,
        Q::Response: Default,
    {
        let Prepaid {
            seq,
            kind,
            total_fee,
            channel,
            expire_secs,
            fp,
        } = spec;
        let mut st = lock(&self.state);
        let m = st.entry(dev.merchant.clone()).or_default();
        let now = Instant::now();
        let o = match self.known_order::<Q::Response>(m, Q::RESPONSE_TYPE, seq, &fp, now) {
            Err(refusal) => return refusal,
            Ok(Some(o)) => o,
            Ok(None) => {
                let mut o = self.new_order(dev, seq, kind, total_fee, channel.code(), fp);
                o.pending = Some((
                    now + self.scaled(expire_secs),
                    TrueStatus::Closed,
                    Some(R_CLOSED),
                ));
                o.settle(now);
                init(&mut o);
                m.orders.entry(seq.to_string()).or_insert(o)
            }
        };
        answer(o)
    }

    /// The answer describing a native order's state (API §5.1 / §5.2):
    /// its `pay_url` while it waits, what was paid once paid.
    fn native_answer(
        &self,
        dev: &DeviceRec,
        o: &Order,
        rtype: &str,
        seq: &str,
        is_query: bool,
    ) -> String {
        let words = self.state_words(o, is_query);
        let mut r = order_answer!(self, NativePayResponse, o, rtype, seq, words, paid: dev);
        if o.status == TrueStatus::Waiting {
            r.pay_url = o.pay_url.clone();
        }
        r.to_xml()
    }

    /// API §5.1, native pay: a waiting order with a `pay_url` for a QR code.
    pub(super) fn native_pay(&self, dev: &DeviceRec, req: NativePayRequest) -> String {
        let rtype = NativePayRequest::RESPONSE_TYPE;
        let expire = req.expire_time.unwrap_or(300).max(1) as u64;
        let fp = format!("native|{}|{}|{}", req.total_fee, req.channel.code(), expire);
        self.prepaid::<NativePayRequest>(
            dev,
            Prepaid {
                seq: &req.req_seq,
                kind: OrderKind::Native,
                total_fee: req.total_fee,
                channel: &req.channel,
                expire_secs: expire,
                fp,
            },
            |o| {
                let token = &o.trans_seq[12..];
                o.pay_url = Some(match req.channel {
                    Channel::Alipay => format!("https://qr.alipay.com/bax0{token}"),
                    _ => format!("weixin://wxpay/bizpayurl?pr=sim{token}"),
                });
            },
            |o| self.native_answer(dev, o, rtype, &req.req_seq, false),
        )
    }

    /// API §5.2 (also §6.2, §7.2), query: any order kind can be queried.
    pub(super) fn native_query(&self, dev: &DeviceRec, req: NativeQueryRequest) -> String {
        self.query::<NativeQueryRequest>(dev, &req.req_seq, &req.ori_seq, |o| {
            self.native_answer(
                dev,
                o,
                NativeQueryRequest::RESPONSE_TYPE,
                &req.req_seq,
                true,
            )
        })
    }

    /// API §6.1, JS pay in the WeChat / Alipay app: a waiting order with a
    /// prepay id (`pay_url`) and the `signature_info` JSON.
    pub(super) fn js_pay(&self, dev: &DeviceRec, req: JsPayRequest) -> String {
        let rtype = JsPayRequest::RESPONSE_TYPE;
        let fp = format!(
            "js|{}|{}|{}",
            req.total_fee,
            req.channel.code(),
            req.subopen_id
        );
        self.prepaid::<JsPayRequest>(
            dev,
            Prepaid {
                seq: &req.req_seq,
                kind: OrderKind::Js,
                total_fee: req.total_fee,
                channel: &req.channel,
                expire_secs: 300,
                fp,
            },
            |o| {
                let ts = chrono::Utc::now().timestamp_millis().to_string();
                let nonce =
                    ystpay::protocol::crypto::md5_upper(format!("{}{ts}", o.trans_seq).as_bytes())
                        .to_ascii_lowercase();
                let (pay_url, info) = match req.channel {
                    Channel::Alipay => {
                        let trade_no = format!("2017{}", o.trans_seq);
                        let info = serde_json::json!({ "tradeNO": trade_no });
                        (trade_no, info)
                    }
                    _ => {
                        let prepay = format!("wx{}", o.trans_seq);
                        let app_id = "wxe132a10234235454";
                        let package = format!("prepay_id={prepay}");
                        let sign = ystpay::protocol::crypto::md5_upper(
                            format!("appId={app_id}&nonceStr={nonce}&package={package}&signType=MD5&timeStamp={ts}")
                                .as_bytes(),
                        );
                        let info = serde_json::json!({
                            "appId": app_id,
                            "nonceStr": nonce,
                            "package": package,
                            "paySign": sign,
                            "signType": "MD5",
                            "timeStamp": ts,
                        });
                        (prepay, info)
                    }
                };
                o.pay_url = Some(pay_url);
                o.signature_info = Some(info.to_string());
            },
            |o| {
                let words = self.state_words(o, false);
                let mut r = order_answer!(self, JsPayResponse, o, rtype, &req.req_seq, words);
                r.head.dsn = Some(dev.dsn.clone());
                if o.status == TrueStatus::Waiting {
                    r.pay_url = o.pay_url.clone();
                    r.signature_info = o.signature_info.clone();
                }
                r.to_xml()
            },
        )
    }

    /// API §7.1, H5 pay from a phone browser: a waiting order with a
    /// `pay_info` URL.
    pub(super) fn h5_pay(&self, dev: &DeviceRec, req: H5PayRequest) -> String {
        let rtype = H5PayRequest::RESPONSE_TYPE;
        let fp = format!(
            "h5|{}|{}|{}|{}",
            req.total_fee,
            req.channel.code(),
            req.ip.as_deref().unwrap_or(""),
            req.redirect_url
        );
        self.prepaid::<H5PayRequest>(
            dev,
            Prepaid {
                seq: &req.req_seq,
                kind: OrderKind::H5,
                total_fee: req.total_fee,
                channel: &req.channel,
                expire_secs: 300,
                fp,
            },
            |o| {
                o.pay_info = Some(match req.channel {
                    Channel::Alipay => format!(
                        "https://mclient.alipay.com/cashier/mobilepay.htm?trade_no=2017{}&return_url={}",
                        o.trans_seq,
                        url_encode(&req.redirect_url)
                    ),
                    _ => format!(
                        "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx{}&package={}&redirect_url={}",
                        o.trans_seq,
                        &o.trans_seq[10..],
                        url_encode(&req.redirect_url)
                    ),
                });
            },
            |o| {
                let words = self.state_words(o, false);
                let mut r = order_answer!(self, H5PayResponse, o, rtype, &req.req_seq, words);
                r.head.dsn = Some(dev.dsn.clone());
                if o.status == TrueStatus::Waiting {
                    r.pay_info = o.pay_info.clone();
                }
                r.to_xml()
            },
        )
    }
}
