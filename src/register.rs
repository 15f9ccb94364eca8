//! One register (收银台), wired in one place: from one [`Settings`], the
//! client, its log, and, with a journal, its payment flows. The C ABI, the
//! command-line tool and the demo all open a [`Register`], and every
//! operation logs itself through it under its own name (docs/DESIGN.md,
//! "Layers").

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use crate::client::Client;
use crate::config::{LogLevel, Settings};
use crate::error::Error;
use crate::flow::{
    FlowConfig, FlowError, NewOrder, NoticeHandled, OrderStart, Outcome, PayOrder, Payments,
    RecoveryReport, SettleOptions, Settlement,
};
use crate::journal::{Journal, JournalError};
use crate::log::{join, push, Describe, LogError, Logger, Named};
use crate::protocol::messages::{Request, Response};
use crate::reading::{Answer, Expected};
use crate::transport::Transport;

/// How a register is put together beyond its [`Settings`].
#[derive(Clone, Default)]
pub struct Wiring {
    /// Timing of the payment flows (`settle_deadline` of the settings
    /// replaces its `pay_deadline`).
    pub flow: FlowConfig,
    /// A transport in place of HTTP (tests inject faults with it).
    pub transport: Option<Arc<dyn Transport>>,
    /// Without a configured journal, keep one in memory, so that the
    /// payment flows still run (nothing survives the process: no recovery
    /// after a crash). Without it, such a register has no flows.
    pub memory_journal: bool,
}

impl std::fmt::Debug for Wiring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wiring")
            .field("flow", &self.flow)
            .field("transport", &self.transport.is_some())
            .field("memory_journal", &self.memory_journal)
            .finish()
    }
}

/// Why a register could not be opened, or an operation not started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterError {
    /// The client or the journal refused before anything was sent
    /// ([`FlowError`]: an unusable configuration, a field that broke a
    /// rule, a journal that refused or failed).
    Flow(FlowError),
    /// The log file cannot be opened.
    Log(LogError),
    /// The operation needs the journal, and this register has none.
    NoJournal,
}

impl std::fmt::Display for RegisterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegisterError::Flow(e) => e.fmt(f),
            RegisterError::Log(e) => write!(f, "log: {e}"),
            RegisterError::NoJournal => {
                f.write_str("this register has no journal (configure 'journal = PATH')")
            }
        }
    }
}

impl std::error::Error for RegisterError {}

impl From<FlowError> for RegisterError {
    fn from(e: FlowError) -> Self {
        RegisterError::Flow(e)
    }
}

impl From<JournalError> for RegisterError {
    fn from(e: JournalError) -> Self {
        RegisterError::Flow(FlowError::Journal(e))
    }
}

impl From<Error> for RegisterError {
    fn from(e: Error) -> Self {
        RegisterError::Flow(FlowError::Client(e))
    }
}

/// A client, its log and its payment flows.
pub struct Register {
    client: Arc<Client>,
    log: Logger,
    payments: Option<Payments>,
    /// What the last recovery finished did.
    last_recovery: Mutex<RecoveryReport>,
}

impl std::fmt::Debug for Register {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Register")
            .field("client", &self.client)
            .field("payments", &self.payments)
            .finish()
    }
}

/// Removes the journal's old settled operations and says so in the log.
fn prune(log: &Logger, journal: &Journal, keep_days: u32) {
    use crate::config::LogLevel;
    match journal.prune(keep_days) {
        Ok(r) if r.ops > 0 => log.write(
            LogLevel::Info,
            "journal-retention",
            &format!(
                "removed {} settled operation(s) and {} request(s) of business days before {} (journal_keep_days={keep_days})",
                r.ops, r.attempts, r.oldest_day_kept
            ),
        ),
        Ok(_) => {}
        Err(e) => log.write(
            LogLevel::Error,
            "journal-retention",
            &format!("nothing removed: {e}"),
        ),
    }
}

impl Register {
    /// Opens the register `settings` describe: the client (over HTTP unless
    /// `wiring` gives a transport), the log, and, with a journal (or
    /// `wiring.memory_journal`), the payment flows. Recovers nothing: call
    /// [`Register::recover`].
    ///
    /// Retention runs here: opening the log deletes its daily files older
    /// than `log_keep_days`, and the journal's settled operations older than
    /// `journal_keep_days` are removed ([`Journal::prune`]). A prune that
    /// fails is logged and the register opens all the same: housekeeping
    /// never stops a register from taking payments.
    pub fn open(settings: &Settings, wiring: Wiring) -> Result<Register, RegisterError> {
        let client = Arc::new(match wiring.transport {
            Some(t) => Client::with_transport(&settings.client, t)?,
            None => Client::new(&settings.client)?,
        });
        let log = Logger::from_settings(settings).map_err(RegisterError::Log)?;
        let journal = match (&settings.journal, wiring.memory_journal) {
            (Some(path), _) => Some(Journal::open(path)?),
            (None, true) => Some(Journal::open_in_memory()?),
            (None, false) => None,
        };
        if let Some(j) = &journal {
            prune(&log, j, settings.journal_keep_days);
        }
        let mut flow = wiring.flow;
        if let Some(d) = settings.settle_deadline {
            flow.pay_deadline = d;
        }
        let payments = match journal {
            Some(j) => Some(Payments::new(client.clone(), Arc::new(j), flow)?),
            None => None,
        };
        Ok(Register {
            client,
            log,
            payments,
            last_recovery: Mutex::default(),
        })
    }

    /// [`Client::prepare`]: a live connection for the coming payment
    /// (call when a sale starts); a failure is logged as `prepare`.
    pub fn prepare(&self) -> Result<(), Error> {
        let r = self.client.prepare();
        if let Err(e) = &r {
            self.log
                .write(crate::config::LogLevel::Info, "prepare", &e.to_string());
        }
        r
    }

    /// The client.
    pub fn client(&self) -> &Arc<Client> {
        &self.client
    }

    /// The log.
    pub fn log(&self) -> &Logger {
        &self.log
    }

    /// The payment flows, or [`RegisterError::NoJournal`].
    pub fn payments(&self) -> Result<&Payments, RegisterError> {
        self.payments.as_ref().ok_or(RegisterError::NoJournal)
    }

    /// The journal, when the register has one.
    pub fn journal(&self) -> Option<&Journal> {
        self.payments.as_ref().map(Payments::journal)
    }

    /// What an answer about operation `req_seq` must say, as far as the
    /// journal records it (nothing without a journal, or when it does not
    /// hold the operation).
    pub fn expected_for(&self, req_seq: &str) -> Expected {
        self.journal()
            .and_then(|j| {
                let rec = j.get(self.client.account(), req_seq).ok().flatten()?;
                Some(crate::flow::expected(j, &rec))
            })
            .unwrap_or_default()
    }

    /// Sends one request (under a new serial when it has none) and logs it
    /// under its name ([`Named::OP`]): at `DEBUG` the request before it
    /// leaves, then the outcome read for an operation that expects
    /// `expect` ([`crate::reading`]). The register sends; the log only
    /// describes.
    pub fn send<R>(&self, req: &mut R, expect: &Expected) -> Result<R::Response, Error>
    where
        R: Request + Describe + Named,
        R::Response: Response + Answer,
    {
        if req.req_seq().is_empty() {
            req.set_req_seq(self.client.issue_req_seq()?);
        }
        if !self.log.enabled(LogLevel::Error) {
            // Nothing would be written: skip describing the call (a log
            // line's text costs as much as a quarter of the protocol work).
            return self.client.send(req);
        }
        let what = req.fields();
        let sensitive = req.sensitive();
        self.log.sending(R::OP, &what);
        let started = Instant::now();
        let result = self.client.send(req);
        self.log
            .outcome(R::OP, &what, &sensitive, &result, expect, started);
        result
    }

    /// Settles every open operation of the journal
    /// ([`Payments::recover`]), logs what it settled, and keeps the report
    /// for [`Register::last_recovery`].
    pub fn recover(&self, opts: &SettleOptions<'_>) -> Result<RecoveryReport, RegisterError> {
        let report = self.payments()?.recover(opts)?;
        for s in &report.settled {
            self.log_settled("recover", s);
        }
        *self.lock_recovery() = report.clone();
        Ok(report)
    }

    /// The report of the last recovery this register finished (empty
    /// before the first).
    pub fn last_recovery(&self) -> MutexGuard<'_, RecoveryReport> {
        self.lock_recovery()
    }

    fn lock_recovery(&self) -> MutexGuard<'_, RecoveryReport> {
        self.last_recovery.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Logs a settled operation: `settled <fields>`, INFO when paid or
    /// revoked, ERROR when failed, not sent or unknown.
    fn log_settled(&self, op: &str, s: &Settlement) {
        let level = match s.outcome {
            Outcome::Paid | Outcome::Revoked => LogLevel::Info,
            Outcome::Failed | Outcome::Unknown | Outcome::NotSent => LogLevel::Error,
        };
        if self.log.enabled(level) {
            self.log
                .write(level, op, &format!("settled {}", join(&s.fields())));
        }
    }

    /// Logs how a settle-flow call ended: settled, or why it did not start.
    fn log_settlement(&self, op: &str, result: &Result<Settlement, FlowError>) {
        match result {
            Ok(s) => self.log_settled(op, s),
            Err(FlowError::Client(e)) => {
                self.log
                    .write(LogLevel::Error, op, &format!("not started: {e}"))
            }
            Err(FlowError::Journal(e)) => {
                self.log
                    .write(LogLevel::Error, op, &format!("journal refused: {e}"))
            }
        }
    }

    fn logged(
        &self,
        op: &str,
        r: Result<Settlement, FlowError>,
    ) -> Result<Settlement, RegisterError> {
        self.log_settlement(op, &r);
        Ok(r?)
    }

    /// [`Payments::settle_pay_as`], logged as `settle-pay`.
    pub fn settle_pay(
        &self,
        req_seq: Option<&str>,
        order: &PayOrder,
        opts: &SettleOptions<'_>,
    ) -> Result<Settlement, RegisterError> {
        let r = self.payments()?.settle_pay_as(req_seq, order, opts);
        self.logged("settle-pay", r)
    }

    /// [`Payments::settle_refund_as`], logged as `settle-refund`.
    pub fn settle_refund(
        &self,
        req_seq: Option<&str>,
        pay_req_seq: &str,
        refund_fee: i64,
        reason: &str,
        opts: &SettleOptions<'_>,
    ) -> Result<Settlement, RegisterError> {
        let p = self.payments()?;
        let r = p.settle_refund_as(req_seq, pay_req_seq, refund_fee, reason, opts);
        self.logged("settle-refund", r)
    }

    /// [`Payments::revoke_payment`], logged as `settle-revoke`.
    pub fn revoke(
        &self,
        req_seq: &str,
        opts: &SettleOptions<'_>,
    ) -> Result<Settlement, RegisterError> {
        let r = self.payments()?.revoke_payment(req_seq, opts);
        self.logged("settle-revoke", r)
    }

    /// [`Payments::create_order`]; an order that ended at once is logged
    /// as `settle-order`.
    pub fn create_order(
        &self,
        order: &NewOrder,
        opts: &SettleOptions<'_>,
    ) -> Result<OrderStart, RegisterError> {
        let start = self.payments()?.create_order(order, opts);
        match start {
            Ok(OrderStart::Ended(s)) => Ok(OrderStart::Ended(self.logged("settle-order", Ok(s))?)),
            Ok(waiting) => Ok(waiting),
            Err(e) => {
                self.log_settlement("settle-order", &Err(e.clone()));
                Err(e.into())
            }
        }
    }

    /// [`Payments::await_order`], logged as `settle-order`.
    pub fn await_order(
        &self,
        req_seq: &str,
        opts: &SettleOptions<'_>,
    ) -> Result<Settlement, RegisterError> {
        let r = self.payments()?.await_order(req_seq, opts);
        self.logged("settle-order", r)
    }

    /// [`Payments::settle_order`], logged as `settle-order`.
    pub fn settle_order(
        &self,
        order: &NewOrder,
        opts: &SettleOptions<'_>,
    ) -> Result<Settlement, RegisterError> {
        let r = self.payments()?.settle_order(order, opts);
        self.logged("settle-order", r)
    }

    /// [`Payments::handle_notice`], logged as `notice`.
    pub fn handle_notice(&self, body: &[u8]) -> Result<NoticeHandled, RegisterError> {
        let h = self.payments()?.handle_notice(body);
        let level = if h.accepted {
            crate::config::LogLevel::Info
        } else {
            crate::config::LogLevel::Error
        };
        let reported = h
            .report
            .as_ref()
            .map(|r| format!(" req_seq={} trans_seq={}", r.req_seq, r.trans_seq))
            .unwrap_or_default();
        self.log.write(
            level,
            "notice",
            &format!("accepted={}{reported} {}", h.accepted, h.detail),
        );
        Ok(h)
    }
}

/// A settled operation of the payment flow, as the log shows it.
impl Describe for Settlement {
    fn fields(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![
            ("outcome", self.outcome.as_str().to_string()),
            ("state", self.state.as_str().to_string()),
            ("kind", self.kind.as_str().to_string()),
            ("req_seq", self.req_seq.clone()),
            ("total_fee", self.total_fee.to_string()),
        ];
        push(&mut v, "trans_seq", self.trans_seq.as_ref());
        push(&mut v, "refund_seq", self.refund_seq.as_ref());
        push(&mut v, "channel", self.channel.as_ref());
        push(&mut v, "pay_time", self.pay_time.as_ref());
        push(&mut v, "code", self.code.as_ref());
        if !self.detail.is_empty() {
            v.push(("detail", self.detail.clone()));
        }
        push(&mut v, "journal_error", self.journal_error.as_ref());
        v
    }
}
