//! ystpay-sim: a simulator of the 赢商通 (Yingshangtong) payment platform,
//! the server side of the wire protocol that `ystpay::protocol` implements.
//!
//! It answers every interface of the API document v1.3.1 (barcode pay,
//! query, refund, refund query, revoke, native/QR pay and query, JS pay, H5
//! pay), keeps a true order state per merchant, sends payment notifications
//! (API §5.5) with the API document's retry schedule, and can inject network faults.
//! Behaviour is chosen by the payment code (see `sim/README.md`).
//!
//! The public API is synchronous: [`Simulator::start`] runs an HTTP/1.1
//! server (hyper on a private tokio runtime) on its own threads and returns
//! a [`RunningSim`]; [`Control`] observes and steers it.
//!
//! ```no_run
//! use ystpay_sim::{SimConfig, Simulator};
//! let sim = Simulator::start(SimConfig { time_scale: 20.0, ..SimConfig::default() }).unwrap();
//! println!("{}", sim.api_url());
//! sim.shutdown();
//! ```
#![warn(missing_docs)]

mod args;
mod config;
mod console;
mod notify;
mod platform;
mod server;
mod util;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use args::SimArgs;
pub use config::{Device, SimConfig};
pub use util::set_verbose;

use platform::Platform;

/// The path of the platform API (API §3: `/ystpay/service/unitive.api`).
pub const API_PATH: &str = "/ystpay/service/unitive.api";

/// A fault applied to one API request instead of (or on top of) normal
/// processing. Queued with [`Control::inject`]; consumed first in, first out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Sleep this long, then process and answer normally.
    Delay(Duration),
    /// Close the connection without processing the request or answering.
    DropBeforeCommit,
    /// Process and commit the request, then close the connection with no answer.
    DropAfterCommit,
    /// Answer HTTP 500 without processing the request.
    Http500,
    /// Process and commit the request, then answer HTTP 200 with a body that is not XML.
    Garbage,
    /// Process and commit the request, then answer with a corrupted signature.
    BadSignature,
    /// Process and commit the request, then answer, correctly signed, with
    /// an amount (`total_fee`, `refund_fee`) one fen more than the order's:
    /// an answer about another operation under the same serial.
    WrongAmount,
    /// Process and commit the request, then answer, correctly signed,
    /// naming another order (`trans_seq`, `refund_seq` changed).
    WrongOrder,
    /// Process and commit the request, then answer, correctly signed,
    /// without the amounts (`total_fee`, `cash_fee`, `coupon_fee`,
    /// `refund_fee`): API §4.1–§4.4 and §5 mark them optional (否), so a
    /// true answer may name no amount at all.
    NoAmount,
}

/// Which interface created an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderKind {
    /// 4.1 barcode payment (the customer showed a payment code).
    Barcode,
    /// 5.1 native (QR code) payment.
    Native,
    /// 6.1 JS payment inside the WeChat / Alipay app.
    Js,
    /// 7.1 H5 payment from a phone browser.
    H5,
}

/// The true state of an order, whatever the answers on the wire said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrueStatus {
    /// Not paid yet: the customer is entering a password or has not scanned.
    Waiting,
    /// The money was taken.
    Paid,
    /// Refused or abandoned; no money taken.
    Failed,
    /// Closed before payment (expired or revoked while waiting); no money will be taken.
    Closed,
    /// Revoked after payment: the money that was not yet refunded was returned.
    Revoked,
}

/// One refund of an order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RefundView {
    /// The refund request's `req_seq`.
    pub req_seq: String,
    /// The platform's refund number.
    pub refund_seq: String,
    /// Amount refunded, in fen.
    pub refund_fee: i64,
}

/// An order as the simulator knows it (the truth, not what was answered).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OrderView {
    /// The payment request's `req_seq`.
    pub req_seq: String,
    /// Which interface created it.
    pub kind: OrderKind,
    /// The platform's order number (20 digits).
    pub trans_seq: String,
    /// Amount in fen.
    pub total_fee: i64,
    /// Channel letter (`W`, `A`), empty when the payment code matched no channel.
    pub channel: String,
    /// True state.
    pub status: TrueStatus,
    /// Total refunded (including what a revoke returned), in fen.
    pub refunded_fee: i64,
    /// Refunds made through the refund interface, in order.
    pub refunds: Vec<RefundView>,
    /// How many times money was actually taken: never more than 1.
    pub pay_count: u32,
    /// When the order was created, China time in the `server_time` format
    /// (`2015-06-09 11:17:48:751`, sim/README.md "Response codes").
    pub created: String,
}

/// One attempt to deliver a payment notification (API §5.5).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NoticeAttempt {
    /// The order's merchant.
    pub merchant: String,
    /// The order's `req_seq`.
    pub req_seq: String,
    /// 1 for the first attempt, up to 6.
    pub attempt: u32,
    /// True when the receiver answered `<result>Y</result>`.
    pub delivered: bool,
    /// The receiver's reply body, or why the attempt failed.
    pub detail: String,
    /// When the attempt ended, China time in the `server_time` format.
    pub at: String,
}

/// Starts simulators.
#[derive(Debug, Clone, Copy, Default)]
pub struct Simulator;

impl Simulator {
    /// Binds `cfg.listen` and starts serving on background threads.
    ///
    /// Fails when the address cannot be bound or the configuration is
    /// invalid (no device, a private key that is not 16/24/32 bytes, a
    /// time scale that is not a positive number).
    pub fn start(cfg: SimConfig) -> std::io::Result<RunningSim> {
        cfg.validate()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let platform = Arc::new(Platform::new(&cfg));
        let listener = std::net::TcpListener::bind(cfg.listen)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("ystpay-sim")
            .enable_all()
            .build()?;
        let tokio_listener = {
            let _guard = rt.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        rt.spawn(server::serve(tokio_listener, platform.clone()));
        util::log(&format!("listening on http://{addr}{API_PATH}"));
        Ok(RunningSim {
            addr,
            platform,
            rt: Some(rt),
        })
    }
}

/// A simulator that is serving. Stops on [`RunningSim::shutdown`] or drop.
pub struct RunningSim {
    addr: SocketAddr,
    platform: Arc<Platform>,
    rt: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for RunningSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningSim")
            .field("addr", &self.addr)
            .finish()
    }
}

impl RunningSim {
    /// The API URL, e.g. `http://127.0.0.1:PORT/ystpay/service/unitive.api`.
    pub fn api_url(&self) -> String {
        format!("{}{API_PATH}", self.base_url())
    }

    /// The server's base URL, e.g. `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The console's URL, e.g. `http://127.0.0.1:PORT/sim/` (sim/README.md "Console").
    pub fn console_url(&self) -> String {
        format!("{}/sim/", self.base_url())
    }

    /// The bound address (with the real port when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A handle to observe and steer the simulator.
    pub fn control(&self) -> Control {
        Control {
            platform: self.platform.clone(),
        }
    }

    /// Stops serving: closes the listener and every connection, and stops
    /// pending notification retries. Returns within about a second.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.platform.stop.set();
        if let Some(rt) = self.rt.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                rt.shutdown_background();
            } else {
                rt.shutdown_timeout(Duration::from_millis(500));
            }
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Observes and steers a running simulator. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Control {
    platform: Arc<Platform>,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control").finish_non_exhaustive()
    }
}

impl Control {
    /// The customer pays a waiting native/JS/H5 order (as if the QR code was
    /// scanned and the password entered). Triggers the notification when a
    /// notify URL is configured. Fails when the order is unknown, is a
    /// barcode order, or is not waiting (paid, expired, revoked).
    pub fn customer_pays(&self, merchant: &str, req_seq: &str) -> Result<(), String> {
        self.platform.customer_pays(merchant, req_seq)
    }

    /// The customer at a barcode payment that waits for the password
    /// (payment codes ending `50`–`69`) confirms now: the order is paid at
    /// once, whatever the code's script said. Fails when the order is
    /// unknown, not a barcode payment, or no longer waiting.
    pub fn customer_confirms(&self, merchant: &str, req_seq: &str) -> Result<(), String> {
        self.platform.customer_acts(merchant, req_seq, true)
    }

    /// The customer at a barcode payment that waits for the password walks
    /// away now: the order fails (`E12002`, no money taken). Fails like
    /// [`Control::customer_confirms`].
    pub fn customer_walks_away(&self, merchant: &str, req_seq: &str) -> Result<(), String> {
        self.platform.customer_acts(merchant, req_seq, false)
    }

    /// Queues `fault` for each of the next `count` API requests (first in, first out).
    pub fn inject(&self, fault: Fault, count: u32) {
        self.platform.inject(fault, count);
    }

    /// The faults still queued, the next one first.
    pub fn faults(&self) -> Vec<Fault> {
        self.platform.queued_faults()
    }

    /// Empties the fault queue; returns how many faults were dropped.
    pub fn clear_faults(&self) -> usize {
        self.platform.clear_faults()
    }

    /// The merchants of the configured devices, sorted.
    pub fn merchants(&self) -> Vec<String> {
        self.platform.merchants()
    }

    /// The true state of one order (`None` when unknown).
    pub fn order(&self, merchant: &str, req_seq: &str) -> Option<OrderView> {
        self.platform.order(merchant, req_seq)
    }

    /// Every order of a merchant, sorted by `req_seq`.
    pub fn orders(&self, merchant: &str) -> Vec<OrderView> {
        self.platform.orders(merchant)
    }

    /// Every notification attempt so far, in the order they were made.
    pub fn notices(&self) -> Vec<NoticeAttempt> {
        self.platform.notices()
    }

    /// How many API requests arrived (control requests not counted).
    pub fn request_count(&self) -> u64 {
        self.platform.request_count()
    }
}
