//! How long the flows wait and how often they ask, and the cancel switch.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// When to ask again while waiting: `first`, then each interval `factor`
/// times the previous one, never more than `max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PollSchedule {
    /// The first wait.
    pub first: Duration,
    /// Growth per step (1.0 = fixed interval).
    pub factor: f64,
    /// The longest wait.
    pub max: Duration,
}

impl PollSchedule {
    /// The default for a customer entering a password: 0.6 s, growing by
    /// 15 % each time, capped at 8 s (0.6, 0.69, 0.79, … 8, 8). It asks often
    /// while most passwords are entered (the first 10–15 s) and rarely
    /// after: 19 queries in 60 s of waiting, and a modelled median detection
    /// delay of about 0.6 s for passwords entered within 10 s
    /// (`cargo bench --bench detection` measures it against the simulator).
    pub const ADAPTIVE: PollSchedule = PollSchedule {
        first: Duration::from_millis(600),
        factor: 1.15,
        max: Duration::from_secs(8),
    };

    /// The number of asks this schedule makes in `window` of waiting.
    pub fn asks_within(&self, window: Duration) -> u32 {
        let mut t = Duration::ZERO;
        let mut n = 0;
        loop {
            let step = self.interval(n);
            if step.is_zero() {
                return u32::MAX;
            }
            t += step;
            if t > window {
                return n;
            }
            n += 1;
        }
    }

    /// A fixed interval (what the usual POS DLLs do, e.g. 5 s).
    pub fn fixed(every: Duration) -> PollSchedule {
        PollSchedule {
            first: every,
            factor: 1.0,
            max: every,
        }
    }

    /// The wait before ask number `n` (0-based).
    pub fn interval(&self, n: u32) -> Duration {
        let grown = self.first.as_secs_f64() * self.factor.max(1.0).powi(n.min(64) as i32);
        let capped = grown.min(self.max.as_secs_f64()).max(0.0);
        Duration::from_secs_f64(capped)
    }

    /// Every interval multiplied by `k` (tests and benchmarks run on a
    /// simulator whose time is sped up).
    pub fn scaled(&self, k: f64) -> PollSchedule {
        PollSchedule {
            first: self.first.mul_f64(k),
            factor: self.factor,
            max: self.max.mul_f64(k),
        }
    }
}

/// Timing of the flows. Every duration can be shortened together with
/// [`FlowConfig::scaled`] for tests against a sped-up simulator.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowConfig {
    /// From the first send of a barcode payment until it is revoked if
    /// still not paid (WeChat closes unpaid codes after about 45 s; Alipay
    /// F2F waits 25 s + cancel). Default 50 s.
    pub pay_deadline: Duration,
    /// When to query while the customer pays or an answer was unclear.
    pub poll: PollSchedule,
    /// When to retry a request that failed to get an answer (resending a
    /// payment that never arrived, a revoke, a refund).
    pub retry: PollSchedule,
    /// How long to keep retrying a revoke before giving up with
    /// [`super::Outcome::Unknown`] (the journal keeps it; recovery goes on). Default 30 s.
    pub revoke_deadline: Duration,
    /// How long a refund is retried and queried. Default 30 s.
    pub refund_deadline: Duration,
    /// How long creating a native/JS/H5 order is retried. Default 20 s.
    pub create_deadline: Duration,
    /// When waiting for a native/JS/H5 order: how often to query.
    pub order_poll: PollSchedule,
    /// Per open operation in [`super::Payments::recover`]: how long to try. Default 20 s.
    pub recover_deadline: Duration,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            pay_deadline: Duration::from_secs(50),
            poll: PollSchedule::ADAPTIVE,
            retry: PollSchedule {
                first: Duration::from_millis(500),
                factor: 2.0,
                max: Duration::from_secs(4),
            },
            revoke_deadline: Duration::from_secs(30),
            refund_deadline: Duration::from_secs(30),
            create_deadline: Duration::from_secs(20),
            order_poll: PollSchedule {
                first: Duration::from_secs(2),
                factor: 1.5,
                max: Duration::from_secs(5),
            },
            recover_deadline: Duration::from_secs(20),
        }
    }
}

impl FlowConfig {
    /// Every duration multiplied by `k` (e.g. `0.01` against a simulator
    /// running at `time_scale = 100`).
    pub fn scaled(&self, k: f64) -> FlowConfig {
        FlowConfig {
            pay_deadline: self.pay_deadline.mul_f64(k),
            poll: self.poll.scaled(k),
            retry: self.retry.scaled(k),
            revoke_deadline: self.revoke_deadline.mul_f64(k),
            refund_deadline: self.refund_deadline.mul_f64(k),
            create_deadline: self.create_deadline.mul_f64(k),
            order_poll: self.order_poll.scaled(k),
            recover_deadline: self.recover_deadline.mul_f64(k),
        }
    }
}

/// Stops a flow from another thread (the cashier's Esc key). Clone it,
/// hand one copy to the flow and keep the other.
///
/// A cancelled payment stops waiting and is revoked at once; a payment the
/// platform already reported paid stays [`super::Outcome::Paid`]. A request in
/// flight is not interrupted: its answer is read first.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<(Mutex<bool>, Condvar)>);

impl CancelToken {
    /// A token not yet cancelled.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Cancels: wakes the flow if it is waiting.
    pub fn cancel(&self) {
        let (m, c) = &*self.0;
        *m.lock().unwrap_or_else(|p| p.into_inner()) = true;
        c.notify_all();
    }

    /// True once [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        *self.0 .0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits `d` or until cancelled; true when cancelled.
    pub fn wait(&self, d: Duration) -> bool {
        let (m, c) = &*self.0;
        let end = Instant::now() + d;
        let mut g = m.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if *g {
                return true;
            }
            let now = Instant::now();
            if now >= end {
                return false;
            }
            g = c
                .wait_timeout(g, end - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}
