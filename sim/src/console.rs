//! The console at `/sim/`: one HTML page, its script, style sheet and icon,
//! compiled into the binary, that steer the simulator through the JSON
//! control API only (sim/README.md "Console"), and the rule that keeps
//! `/sim/` for the machine the simulator runs on.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, HOST, LOCATION, ORIGIN};
use hyper::{Method, Request, Response, StatusCode};

const INDEX_HTML: &str = include_str!("../console/index.html");
const CONSOLE_JS: &str = include_str!("../console/console.js");
const CONSOLE_CSS: &str = include_str!("../console/console.css");
const FAVICON_SVG: &str = include_str!("../console/favicon.svg");

/// The browser may load and fetch nothing but these files and the
/// control API of this same server: no CDN, no inline script, no frames.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                   connect-src 'self'; img-src 'self'; base-uri 'none'; \
                   form-action 'none'; frame-ancestors 'none'";

/// The console's files, or `None` when `path` is a control endpoint. The
/// page names its icon, so the browser does not ask for `/favicon.ico`.
pub(crate) fn page(method: &Method, path: &str) -> Option<Response<Full<Bytes>>> {
    if method != Method::GET {
        return None;
    }
    let (content_type, body) = match path {
        // Relative URLs in the page resolve against `/sim/`, not `/`.
        "/sim" => {
            let mut r = Response::new(Full::new(Bytes::new()));
            *r.status_mut() = StatusCode::PERMANENT_REDIRECT;
            r.headers_mut()
                .insert(LOCATION, HeaderValue::from_static("/sim/"));
            return Some(r);
        }
        "/sim/" | "/sim/index.html" => ("text/html; charset=utf-8", INDEX_HTML),
        "/sim/console.js" => ("text/javascript; charset=utf-8", CONSOLE_JS),
        "/sim/console.css" => ("text/css; charset=utf-8", CONSOLE_CSS),
        "/sim/favicon.svg" => ("image/svg+xml", FAVICON_SVG),
        _ => return None,
    };
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Some(r)
}

/// The loopback rule for `/sim/` (console and control API), `Err` with the
/// reason to refuse.
///
/// The simulator listens on loopback unless started with `--allow-remote`
/// (sim/README.md "Run"). A browser could still carry another site's
/// requests there, so:
/// - while listening on loopback, the `Host` must be a loopback name
///   (`localhost`, `127.x.x.x`, `[::1]`): a web page that rebinds its own
///   name to 127.0.0.1 cannot read or steer the simulator;
/// - a request that changes something and carries an `Origin` must come
///   from a page of this same server: another site's script cannot pay
///   orders or queue faults. Tools such as curl send no `Origin`.
pub(crate) fn admit<B>(req: &Request<B>, local_only: bool) -> Result<(), String> {
    let host = req.headers().get(HOST).and_then(|h| h.to_str().ok());
    if local_only {
        if let Some(h) = host {
            if !is_loopback_host(h) {
                return Err(format!(
                    "Host {h:?} is not a loopback name: the simulator listens on loopback only"
                ));
            }
        }
    }
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        if let Some(origin) = req.headers().get(ORIGIN) {
            let same = match (origin.to_str(), host) {
                (Ok(o), Some(h)) => o
                    .strip_prefix("http://")
                    .is_some_and(|rest| rest.eq_ignore_ascii_case(h)),
                _ => false,
            };
            if !same {
                return Err(format!(
                    "Origin {origin:?} is not this simulator: only its own console may change it"
                ));
            }
        }
    }
    Ok(())
}

/// Is `host` (a `Host` header: name or address, optional port) a loopback name?
fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(v6) = host.strip_prefix('[') {
        match v6.split_once(']') {
            Some((addr, rest)) if rest.is_empty() || is_port(rest) => {
                return addr
                    .parse::<std::net::Ipv6Addr>()
                    .is_ok_and(|a| a.is_loopback())
            }
            _ => return false,
        }
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if is_port(&format!(":{port}")) => name,
            Some(_) => return false,
            None => host,
        }
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|a| a.is_loopback())
}

/// `:` followed by 1 to 5 digits.
fn is_port(s: &str) -> bool {
    s.strip_prefix(':')
        .is_some_and(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: Method, host: Option<&str>, origin: Option<&str>) -> Request<()> {
        let mut b = Request::builder().method(method).uri("/sim/faults");
        if let Some(h) = host {
            b = b.header(HOST, h);
        }
        if let Some(o) = origin {
            b = b.header(ORIGIN, o);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn loopback_names() {
        for h in [
            "127.0.0.1:8088",
            "127.0.0.1",
            "127.1.2.3:80",
            "localhost:8088",
            "LOCALHOST",
            "localhost.",
            "app.localhost:1",
            "[::1]:8088",
            "[::1]",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "evil.example:8088",
            "127.0.0.1.evil.example",
            "localhost.evil.example",
            "10.0.0.1:8088",
            "[::2]:8088",
            "[::1]x",
            "localhost:http",
            "localhost:123456",
            "",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn the_loopback_rule() {
        let ok = Some("127.0.0.1:8088");
        assert!(admit(&req(Method::GET, ok, None), true).is_ok());
        // A page that rebound its name to 127.0.0.1 sends its own name.
        assert!(admit(&req(Method::GET, Some("evil.example:8088"), None), true).is_err());
        // ...which is fine when the simulator was told to listen remotely.
        assert!(admit(&req(Method::GET, Some("pos-test:8088"), None), false).is_ok());
        // curl: no Origin.
        assert!(admit(&req(Method::POST, ok, None), true).is_ok());
        // The console itself.
        let own = Some("http://127.0.0.1:8088");
        assert!(admit(&req(Method::POST, ok, own), true).is_ok());
        assert!(admit(&req(Method::DELETE, ok, own), true).is_ok());
        // Another site's script, or a sandboxed frame.
        for o in [
            "http://evil.example",
            "null",
            "https://127.0.0.1:8088",
            "http://127.0.0.1:9",
        ] {
            assert!(admit(&req(Method::POST, ok, Some(o)), true).is_err(), "{o}");
            assert!(
                admit(&req(Method::POST, ok, Some(o)), false).is_err(),
                "{o}"
            );
        }
        // Reading needs no Origin check: the browser keeps another site from
        // reading the answer (no CORS header is ever sent).
        assert!(admit(&req(Method::GET, ok, Some("http://evil.example")), true).is_ok());
    }

    #[test]
    fn pages() {
        let r = page(&Method::GET, "/sim/").unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'"));
        let r = page(&Method::GET, "/sim").unwrap();
        assert_eq!(r.status(), StatusCode::PERMANENT_REDIRECT);
        assert!(page(&Method::GET, "/sim/console.js").is_some());
        assert!(page(&Method::GET, "/sim/console.css").is_some());
        assert!(page(&Method::GET, "/sim/favicon.svg").is_some());
        assert!(page(&Method::POST, "/sim/").is_none());
        assert!(page(&Method::GET, "/sim/orders/demo").is_none());
    }

    /// The console loads nothing from outside the simulator: every URL in
    /// its files is a relative path under `/sim/`.
    #[test]
    fn assets_name_no_other_server() {
        for (name, text) in [
            ("index.html", INDEX_HTML),
            ("console.js", CONSOLE_JS),
            ("console.css", CONSOLE_CSS),
            ("favicon.svg", FAVICON_SVG),
        ] {
            // An SVG names its XML namespace with a URL that is never fetched.
            let text = text.replace(r#"xmlns="http://www.w3.org/2000/svg""#, "");
            for bad in ["http:", "https:", "//", "@import", "url("] {
                // `//` starts a comment in the script; look for it only
                // inside quotes and attributes.
                let hits: Vec<&str> = text
                    .lines()
                    .filter(|l| {
                        if bad == "//" {
                            l.contains("\"//") || l.contains("'//") || l.contains("`//")
                        } else {
                            l.contains(bad)
                        }
                    })
                    .collect();
                assert!(hits.is_empty(), "{name} mentions {bad}: {hits:?}");
            }
        }
        assert!(INDEX_HTML.contains(r#"<script src="console.js""#));
        assert!(
            !INDEX_HTML.contains("<script>"),
            "no inline script (the CSP forbids it)"
        );
        assert!(
            !CONSOLE_JS.contains("innerHTML"),
            "values go in as text only"
        );
        assert!(!CONSOLE_JS.contains("insertAdjacentHTML"));
        assert!(!CONSOLE_JS.contains("document.write"));
    }
}
