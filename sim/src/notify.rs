//! Payment notifications (API §5.5): POST `native_order_notice` to the
//! configured URL until the receiver answers `<result>Y</result>`, on the
//! API document's schedule 0/30/30/60/300/900 s divided by the time scale.

use std::sync::Arc;
use std::time::Duration;

use ystpay::protocol::{NoticeReply, ResponseEnvelope};

use crate::platform::{Notice, Platform, NOTICE_SCHEDULE};
use crate::util::{china_now, server_time, timestamp_ms};
use crate::NoticeAttempt;

/// Starts delivering `notice` on a background thread.
pub(crate) fn spawn(platform: Arc<Platform>, url: String, notice: Notice) {
    let spawned = std::thread::Builder::new()
        .name("ystpay-sim-notify".to_string())
        .spawn({
            let platform = platform.clone();
            let url = url.clone();
            let req_seq = notice.req_seq.clone();
            let merchant = notice.merchant.clone();
            move || deliver(&platform, &url, &notice, &merchant, &req_seq)
        });
    if let Err(e) = spawned {
        platform.record_notice(NoticeAttempt {
            merchant: String::new(),
            req_seq: String::new(),
            attempt: 0,
            delivered: false,
            detail: format!("could not start the notifier thread: {e}"),
            at: server_time(china_now()),
        });
    }
}

fn deliver(platform: &Platform, url: &str, notice: &Notice, merchant: &str, req_seq: &str) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into();
    for (i, wait) in NOTICE_SCHEDULE.iter().enumerate() {
        if !platform.stop.sleep(platform.scaled(*wait)) {
            return;
        }
        let body = if platform.notify_plain {
            Ok(notice.plain.clone())
        } else {
            ResponseEnvelope::seal(&notice.dsn, &timestamp_ms(), &notice.plain)
                .map(|e| e.to_xml())
                .map_err(|e| format!("cannot seal the notice: {e}"))
        };
        let (delivered, detail) = match body {
            Err(e) => (false, e),
            Ok(body) => match agent
                .post(url)
                .header("Content-Type", "text/xml; charset=UTF-8")
                .send(body)
            {
                Err(e) => (false, format!("HTTP error: {e}")),
                Ok(mut resp) => {
                    let status = resp.status().as_u16();
                    match resp.body_mut().read_to_string() {
                        Err(e) => (false, format!("HTTP {status}, unreadable body: {e}")),
                        Ok(text) => {
                            let ok = status == 200
                                && NoticeReply::from_xml(&text).is_ok_and(|r| r.result);
                            (ok, text)
                        }
                    }
                }
            },
        };
        platform.record_notice(NoticeAttempt {
            merchant: merchant.to_string(),
            req_seq: req_seq.to_string(),
            attempt: u32::try_from(i + 1).unwrap_or(u32::MAX),
            delivered,
            detail,
            at: server_time(china_now()),
        });
        if delivered {
            return;
        }
    }
}
