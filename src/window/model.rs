//! What the payment window shows, as text: independent of Win32, so that
//! its words are tested on every platform (the drawing is in `win32`).

use crate::ffi::codes::*;
use crate::flow::{Outcome, Settlement};

/// Which words: Chinese by default, English with `YSTPAY_WINDOW_ENGLISH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    /// 中文.
    Zh,
    /// English.
    En,
}

/// How a line is coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tone {
    /// Black.
    Plain,
    /// Green: paid.
    Good,
    /// Red: refused, failed, not a payment code.
    Bad,
}

/// Where the window is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Barcode window, before a payment code was taken; `refused`: the last
    /// scan was not one.
    Scan { refused: bool },
    /// The operation runs: its latest `YSTPAY_STAGE_*`, seconds since it
    /// started, and (QR window) seconds left before the code expires.
    Running {
        stage: i32,
        secs: u64,
        left: Option<u64>,
        cancelling: bool,
    },
    /// It ended: the words, big.
    Ended { line: String, tone: Tone },
}

/// "¥12.34" for 1234 fen.
pub(crate) fn money(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let f = fen.unsigned_abs();
    format!("{sign}¥{}.{:02}", f / 100, f % 100)
}

/// Strings that do not change with the phase.
pub(crate) struct Fixed {
    pub title: &'static str,
    pub cancel: &'static str,
}

pub(crate) fn fixed(lang: Lang, qr: bool) -> Fixed {
    match (lang, qr) {
        (Lang::Zh, false) => Fixed {
            title: "扫码收款",
            cancel: "取消 (Esc)",
        },
        (Lang::Zh, true) => Fixed {
            title: "二维码收款",
            cancel: "取消 (Esc)",
        },
        (Lang::En, false) => Fixed {
            title: "Payment",
            cancel: "Cancel (Esc)",
        },
        (Lang::En, true) => Fixed {
            title: "QR code payment",
            cancel: "Cancel (Esc)",
        },
    }
}

/// The prompt line and its tone for a phase (the ended line is drawn big
/// instead).
pub(crate) fn prompt(lang: Lang, qr: bool, phase: &Phase) -> (String, Tone) {
    let zh = lang == Lang::Zh;
    match phase {
        Phase::Scan { refused: false } => (
            t(zh, "请扫描顾客的付款码", "Scan the customer's payment code"),
            Tone::Plain,
        ),
        Phase::Scan { refused: true } => (
            t(
                zh,
                "这不是付款码，请重新扫描",
                "That is not a payment code: scan again",
            ),
            Tone::Bad,
        ),
        Phase::Running {
            cancelling: true, ..
        } => (t(zh, "正在撤销…", "Cancelling…"), Tone::Plain),
        Phase::Running {
            stage, secs, left, ..
        } => {
            let s = match *stage {
                YSTPAY_STAGE_WAITING | YSTPAY_STAGE_SHOW_CODE if qr => match left {
                    Some(l) => {
                        let when = format!("{}:{:02}", l / 60, l % 60);
                        if zh {
                            format!("请顾客用微信或支付宝扫码  剩余 {when}")
                        } else {
                            format!("Scan with WeChat or Alipay: {when} left")
                        }
                    }
                    None => t(zh, "请顾客扫码", "Customer scans the code"),
                },
                YSTPAY_STAGE_WAITING => {
                    if zh {
                        format!("等待顾客输入密码… {secs} 秒")
                    } else {
                        format!("Waiting for the customer's password… {secs} s")
                    }
                }
                YSTPAY_STAGE_QUERYING => t(zh, "正在查询结果…", "Checking the result…"),
                YSTPAY_STAGE_RESENDING => t(zh, "正在重新发送…", "Sending again…"),
                YSTPAY_STAGE_REVOKING => t(zh, "正在撤销…", "Revoking…"),
                _ if qr => t(zh, "正在生成二维码…", "Making the QR code…"),
                _ => t(zh, "正在发送…", "Sending…"),
            };
            (s, Tone::Plain)
        }
        Phase::Ended { .. } => (t(zh, "按 Enter 关闭", "Enter closes"), Tone::Plain),
    }
}

/// The big line of the end: what the cashier tells the customer.
/// `cancelled`: the cashier cancelled (else a revoked order expired).
pub(crate) fn ended(
    lang: Lang,
    end: &Result<Settlement, String>,
    cancelled: bool,
) -> (String, Tone) {
    let zh = lang == Lang::Zh;
    match end {
        Ok(s) => match s.outcome {
            Outcome::Paid => (
                if zh {
                    format!("✓ 已支付 {}", money(s.total_fee))
                } else {
                    format!("✓ Paid {}", money(s.total_fee))
                },
                Tone::Good,
            ),
            Outcome::Revoked if cancelled => (
                t(zh, "已撤销，未扣款", "Cancelled: nothing charged"),
                Tone::Bad,
            ),
            Outcome::Revoked => (
                t(zh, "已过期，未扣款", "Expired: nothing charged"),
                Tone::Bad,
            ),
            Outcome::NotSent => (
                t(zh, "未发送，未扣款", "Not sent: nothing charged"),
                Tone::Bad,
            ),
            Outcome::Failed => {
                let why = s.detail.trim();
                let line = match (zh, why.is_empty()) {
                    (true, true) => "支付失败".to_string(),
                    (true, false) => format!("支付失败：{why}"),
                    (false, true) => "Payment failed".to_string(),
                    (false, false) => format!("Payment failed: {why}"),
                };
                (line, Tone::Bad)
            }
            Outcome::Unknown => (
                t(
                    zh,
                    "结果未知：稍后查询（日志已记录）",
                    "Outcome unknown: query later (journal kept)",
                ),
                Tone::Bad,
            ),
        },
        Err(why) => (
            if zh {
                format!("未发送，未扣款：{why}")
            } else {
                format!("Not sent, nothing charged: {why}")
            },
            Tone::Bad,
        ),
    }
}

fn t(zh: bool, a: &str, b: &str) -> String {
    if zh { a } else { b }.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{OpKind, OpState};

    fn settled(outcome: Outcome, detail: &str) -> Settlement {
        Settlement {
            outcome,
            state: OpState::Unknown,
            kind: OpKind::Pay,
            req_seq: "1".into(),
            trans_seq: None,
            total_fee: 1234,
            channel: None,
            refund_seq: None,
            pay_time: None,
            receipts: Vec::new(),
            code: None,
            detail: detail.into(),
            journal_error: None,
        }
    }

    #[test]
    fn money_has_two_decimals() {
        assert_eq!(money(1234), "¥12.34");
        assert_eq!(money(5), "¥0.05");
        assert_eq!(money(-100), "-¥1.00");
    }

    #[test]
    fn words_of_each_phase() {
        let run = |stage, left| Phase::Running {
            stage,
            secs: 7,
            left,
            cancelling: false,
        };
        let p = |l, qr, ph: &Phase| prompt(l, qr, ph).0;
        assert_eq!(
            p(Lang::Zh, false, &run(YSTPAY_STAGE_WAITING, None)),
            "等待顾客输入密码… 7 秒"
        );
        assert_eq!(
            p(Lang::En, true, &run(YSTPAY_STAGE_SHOW_CODE, Some(299))),
            "Scan with WeChat or Alipay: 4:59 left"
        );
        assert_eq!(
            prompt(Lang::Zh, false, &Phase::Scan { refused: true }).1,
            Tone::Bad
        );
        let paid = ended(Lang::Zh, &Ok(settled(Outcome::Paid, "")), false);
        assert_eq!(paid, ("✓ 已支付 ¥12.34".to_string(), Tone::Good));
        let r = ended(Lang::En, &Ok(settled(Outcome::Revoked, "")), true);
        assert_eq!(r.0, "Cancelled: nothing charged");
        let f = ended(Lang::Zh, &Ok(settled(Outcome::Failed, "余额不足")), false);
        assert_eq!(f.0, "支付失败：余额不足");
    }
}
