//! Configuration: devices (merchant, account, password, private key), the
//! listen address, the time scale and where notifications go.

use std::net::SocketAddr;
use std::path::Path;

/// How the simulator is set up.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Where to listen (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// Known devices; the request envelope's `dsn` selects one.
    pub devices: Vec<Device>,
    /// Divides every simulated wait (password entry, delayed answer, QR
    /// expiry, notification retries): 20.0 turns 5 s into 0.25 s.
    pub time_scale: f64,
    /// Where payment notifications (API §5.5) are POSTed; none when `None`.
    pub notify_url: Option<String>,
    /// Send notifications as the plain `<data>` document instead of a
    /// signed `<response>` envelope.
    pub notify_plain: bool,
    /// Answer a refund's `refund_fee` (API §4.3/§4.4, "已退款金额") as the
    /// order's total refunded so far, this refund included, instead of this
    /// refund's amount: the other reading of the document
    /// (docs/PROTOCOL.md, §4.3).
    pub refund_fee_cumulative: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            devices: vec![Device::demo()],
            time_scale: 1.0,
            notify_url: None,
            notify_plain: false,
            refund_fee_cumulative: false,
        }
    }
}

/// A cash-register device of a merchant, as the platform registered it.
#[derive(Clone, PartialEq, Eq)]
pub struct Device {
    /// Merchant name; orders are kept per merchant.
    pub merchant: String,
    /// Device login account (`acct`, API §2.5.1).
    pub acct: String,
    /// Device login password (`pass`).
    pub pass: String,
    /// The merchant's AES private key (16, 24 or 32 bytes).
    pub private_key: String,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("merchant", &self.merchant)
            .field("acct", &self.acct)
            .field("pass", &"<redacted>")
            .field("private_key", &"<redacted>")
            .finish()
    }
}

impl Device {
    /// The demo device: merchant `demo`, acct `demo`, pass `demo123`,
    /// private key `0123456789ABCDEF`.
    pub fn demo() -> Device {
        Device {
            merchant: "demo".to_string(),
            acct: "demo".to_string(),
            pass: "demo123".to_string(),
            private_key: "0123456789ABCDEF".to_string(),
        }
    }

    /// The device serial number: `MD5(lower(acct) + private_key + MD5(pass))`.
    pub fn dsn(&self) -> String {
        ystpay::protocol::crypto::derive_dsn(&self.acct, &self.private_key, &self.pass)
    }
}

/// The configuration file: every key optional.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    time_scale: Option<f64>,
    notify_url: Option<String>,
    notify_plain: Option<bool>,
    refund_fee_cumulative: Option<bool>,
    devices: Option<Vec<FileDevice>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDevice {
    merchant: String,
    acct: String,
    pass: String,
    private_key: String,
}

impl SimConfig {
    /// Reads a configuration file: JSON when the name ends in `.json`,
    /// TOML otherwise. Absent keys keep their [`Default`] values. The
    /// result is validated.
    pub fn from_file(path: &Path) -> Result<SimConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let file: FileConfig = if is_json {
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
        } else {
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
        };
        let mut cfg = SimConfig::default();
        if let Some(l) = file.listen {
            cfg.listen = l
                .parse()
                .map_err(|_| format!("listen: {l:?} is not an address such as 127.0.0.1:8088"))?;
        }
        if let Some(t) = file.time_scale {
            cfg.time_scale = t;
        }
        cfg.notify_url = file.notify_url;
        if let Some(p) = file.notify_plain {
            cfg.notify_plain = p;
        }
        if let Some(c) = file.refund_fee_cumulative {
            cfg.refund_fee_cumulative = c;
        }
        if let Some(devs) = file.devices {
            cfg.devices = devs
                .into_iter()
                .map(|d| Device {
                    merchant: d.merchant,
                    acct: d.acct,
                    pass: d.pass,
                    private_key: d.private_key,
                })
                .collect();
        }
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks what the server relies on.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if !(self.time_scale.is_finite() && self.time_scale > 0.0) {
            return Err(format!(
                "time_scale must be a positive number, got {}",
                self.time_scale
            ));
        }
        if self.devices.is_empty() {
            return Err("at least one device is required".to_string());
        }
        let mut seen = std::collections::HashSet::new();
        for d in &self.devices {
            if d.merchant.trim().is_empty() || d.acct.trim().is_empty() {
                return Err("every device needs a merchant and an acct".to_string());
            }
            if !matches!(d.private_key.len(), 16 | 24 | 32) {
                return Err(format!(
                    "device {}/{}: private_key must be 16, 24 or 32 bytes, got {}",
                    d.merchant,
                    d.acct,
                    d.private_key.len()
                ));
            }
            if !seen.insert(d.dsn()) {
                return Err(format!("device {}/{} is listed twice", d.merchant, d.acct));
            }
        }
        if let Some(u) = &self.notify_url {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                return Err(format!("notify_url must be an http:// URL, got {u:?}"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_defaults() {
        let c = SimConfig::default();
        assert_eq!(c.devices, vec![Device::demo()]);
        assert!(c.validate().is_ok());
        assert!(!format!("{:?}", Device::demo()).contains("0123456789ABCDEF"));
    }

    #[test]
    fn reads_toml_and_json() {
        let dir = std::env::temp_dir().join(format!("ystpay-sim-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let t = dir.join("sim.toml");
        std::fs::write(
            &t,
            "listen = \"127.0.0.1:18088\"\ntime_scale = 20.0\nnotify_url = \"http://127.0.0.1:9/n\"\n\
             [[devices]]\nmerchant = \"m1\"\nacct = \"pos1\"\npass = \"secret1\"\nprivate_key = \"ABCDEF0123456789\"\n",
        )
        .unwrap();
        let c = SimConfig::from_file(&t).unwrap();
        assert_eq!(c.listen.port(), 18088);
        assert_eq!(c.time_scale, 20.0);
        assert_eq!(c.devices[0].merchant, "m1");
        let j = dir.join("sim.json");
        std::fs::write(&j, r#"{"time_scale": 5, "notify_plain": true}"#).unwrap();
        let c = SimConfig::from_file(&j).unwrap();
        assert!(c.notify_plain);
        assert_eq!(c.devices, vec![Device::demo()]);
        std::fs::write(&j, r#"{"time_scale": 0}"#).unwrap();
        assert!(SimConfig::from_file(&j).is_err());
        std::fs::write(&j, r#"{"bogus": 1}"#).unwrap();
        assert!(SimConfig::from_file(&j).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
