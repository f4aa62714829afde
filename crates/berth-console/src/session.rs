//! Console sessions and CSRF protection.
//!
//! A session is created by signing in with an access key and its secret (or with an IAM user's
//! password: then it names the user and its login profile instead of a key) and is kept in the
//! store ([`berth_control::console`]), so every server on a shared database knows it: a
//! 256-bit id from the operating system's generator goes to the browser in an
//! `HttpOnly; SameSite=Strict; Path=/console` cookie (with `Secure` when berth serves TLS); the
//! store keeps an HMAC of the id (a lookup never compares ids byte by byte) and, sealed with
//! the root key, the access key id, the region, the per-session CSRF token and a one-shot
//! message, beside the expiry. The secret is never kept. Signing out through any server
//! deletes the session. Failed sign-ins are counted per address and per server, and throttled
//! ([`SignInThrottle`]).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use berth_control::Control;
use berth_control::console::SessionFailure;
use subtle::ConstantTimeEq;

pub use berth_control::console::{ConsoleSession as Session, MAX_SESSIONS, token};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "berth_console";
/// The pre-session cookie that protects the sign-in form against login CSRF (double submit).
pub const SIGNIN_COOKIE: &str = "berth_console_signin";
/// How long a session lasts after sign-in.
pub const SESSION_TTL: Duration = Duration::from_secs(berth_control::console::SESSION_TTL_SECS);

/// Why a session could not be created.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SessionError {
    #[error("too many console sessions: try again later")]
    Full,
    #[error("console sessions are unavailable: try again later")]
    Unavailable,
}

/// Failed sign-ins an address may make within [`THROTTLE_WINDOW`] before it must wait.
pub const MAX_FAILED_SIGN_INS: usize = 10;
/// The window failed sign-ins are counted in.
pub const THROTTLE_WINDOW: Duration = Duration::from_secs(300);
/// Addresses the throttle remembers at most (beyond, the quietest are forgotten).
const MAX_THROTTLED: usize = 10_000;

/// Slows down guessing secrets through the sign-in form: each address (`None`: the peer is not
/// known) may fail [`MAX_FAILED_SIGN_INS`] times per [`THROTTLE_WINDOW`]; then its sign-ins are
/// refused, right secret or not, until the oldest failure leaves the window. (AWS's console has
/// its own, undocumented limits; these numbers are berth's.)
#[derive(Debug, Default)]
pub struct SignInThrottle {
    failures: Mutex<HashMap<Option<IpAddr>, VecDeque<Instant>>>,
}

impl SignInThrottle {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Option<IpAddr>, VecDeque<Instant>>> {
        self.failures.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Err(wait)` when `peer` has used up its failures.
    pub fn check(&self, peer: Option<IpAddr>, now: Instant) -> Result<(), Duration> {
        let mut map = self.lock();
        let Some(times) = map.get_mut(&peer) else {
            return Ok(());
        };
        while times
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= THROTTLE_WINDOW)
        {
            times.pop_front();
        }
        match times.front() {
            Some(oldest) if times.len() >= MAX_FAILED_SIGN_INS => {
                Err(THROTTLE_WINDOW.saturating_sub(now.saturating_duration_since(*oldest)))
            }
            _ => Ok(()),
        }
    }

    /// Counts a failed sign-in from `peer`.
    pub fn failed(&self, peer: Option<IpAddr>, now: Instant) {
        let mut map = self.lock();
        if map.len() >= MAX_THROTTLED && !map.contains_key(&peer) {
            map.retain(|_, t| {
                t.back()
                    .is_some_and(|last| now.saturating_duration_since(*last) < THROTTLE_WINDOW)
            });
            if map.len() >= MAX_THROTTLED {
                map.clear();
            }
        }
        let times = map.entry(peer).or_default();
        times.push_back(now);
        while times.len() > MAX_FAILED_SIGN_INS {
            times.pop_front();
        }
    }
}

/// The console's sessions, in the store ([`berth_control::console`]). A failure of the store
/// is logged; the session is then not found (the page asks to sign in again).
pub struct Sessions {
    control: Arc<Control>,
}

/// Whether two tokens are equal, in time independent of where they differ. An empty token
/// never matches.
pub fn tokens_match(given: &str, expected: &str) -> bool {
    !given.is_empty() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

impl Sessions {
    pub fn new(control: Arc<Control>) -> Sessions {
        Sessions { control }
    }

    fn created(r: Result<String, SessionFailure>) -> Result<String, SessionError> {
        r.map_err(|e| match e {
            SessionFailure::Full => SessionError::Full,
            SessionFailure::Internal(e) => {
                tracing::error!(error = %e, "console: session could not be stored");
                SessionError::Unavailable
            }
        })
    }

    /// Creates a session; returns its id (for the cookie).
    pub fn create(&self, access_key_id: &str, region: &str) -> Result<String, SessionError> {
        Self::created(
            self.control
                .create_console_session(access_key_id, None, region),
        )
    }

    /// Creates a session for an IAM user signed in with its password; returns its id.
    pub fn create_for_password(
        &self,
        login: berth_control::iam::PasswordLogin,
        region: &str,
    ) -> Result<String, SessionError> {
        Self::created(self.control.create_console_session("", Some(login), region))
    }

    /// The live session with this id (an expired one is deleted), with its flash taken.
    pub fn get(&self, id: &str) -> Option<Session> {
        self.control.console_session(id).unwrap_or_else(|e| {
            tracing::error!(error = %e, "console: session lookup failed");
            None
        })
    }

    /// Leaves a message for the session's next page.
    pub fn flash(&self, id: &str, message: String) {
        if let Err(e) = self.control.flash_console_session(id, message) {
            tracing::error!(error = %e, "console: session message not stored");
        }
    }

    /// Deletes the session (sign-out, or its key is gone), for every server on the store.
    pub fn remove(&self, id: &str) {
        if let Err(e) = self.control.end_console_session(id) {
            tracing::error!(error = %e, "console: session not removed");
        }
    }

    /// How many sessions the store holds.
    pub fn len(&self) -> usize {
        self.control.console_session_count().unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

/// Whether a request may come from where it says it comes from. The browser's
/// `Sec-Fetch-Site`, when sent, must be `same-origin` (or `none`: typed by the user); an
/// `Origin`, when sent, must be this server's own, `http://HOST` or `https://HOST` with `HOST`
/// the request's `Host`. An opaque origin (`Origin: null`: a sandboxed frame, a `data:` or
/// `file:` page, a cross-origin redirect) is foreign and refused like any other; the console's
/// pages are served with `Referrer-Policy: same-origin`, under which browsers send their real
/// origin on the console's own form posts.
pub fn origin_allowed(origin: Option<&str>, host: Option<&str>, fetch_site: Option<&str>) -> bool {
    if fetch_site.is_some_and(|f| f != "same-origin" && f != "none") {
        return false;
    }
    let Some(origin) = origin else {
        return true;
    };
    let Some(host) = host.filter(|h| !h.is_empty()) else {
        return false;
    };
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    rest.is_some_and(|r| r.eq_ignore_ascii_case(host))
}

/// The attributes every console cookie carries; `Secure` when berth serves TLS, so the
/// browser never sends the cookie over plain HTTP.
fn attributes(secure: bool) -> &'static str {
    if secure {
        "HttpOnly; Secure; SameSite=Strict; Path=/console"
    } else {
        "HttpOnly; SameSite=Strict; Path=/console"
    }
}

/// `Set-Cookie` for a new session.
pub fn session_cookie(id: &str, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={id}; {}; Max-Age={}",
        attributes(secure),
        SESSION_TTL.as_secs()
    )
}

/// `Set-Cookie` that deletes cookie `name`.
pub fn expired_cookie(name: &str, secure: bool) -> String {
    format!("{name}=; {}; Max-Age=0", attributes(secure))
}

/// `Set-Cookie` for the sign-in form's pre-session token.
pub fn signin_cookie(token: &str, secure: bool) -> String {
    format!(
        "{SIGNIN_COOKIE}={token}; {}; Max-Age=3600",
        attributes(secure)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_random_bits() {
        let a = token();
        let b = token();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn token_comparison() {
        let t = token();
        assert!(tokens_match(&t, &t.clone()));
        assert!(!tokens_match("", ""));
        assert!(!tokens_match(&t[..63], &t));
        let mut other = t.clone().into_bytes();
        other[10] = if other[10] == b'a' { b'b' } else { b'a' };
        assert!(!tokens_match(&String::from_utf8_lossy(&other), &t));
    }

    #[test]
    fn cookies_are_read_by_exact_name() {
        let h = "a=1; berth_console_signin=pre; berth_console=sess";
        assert_eq!(cookie(h, SESSION_COOKIE), Some("sess"));
        assert_eq!(cookie(h, SIGNIN_COOKIE), Some("pre"));
        assert_eq!(cookie(h, "b"), None);
        let c = session_cookie("abc", false);
        for attr in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
            assert!(c.contains(attr), "{c}");
        }
        assert!(!c.contains("Secure"), "{c}");
        for c in [
            session_cookie("abc", true),
            expired_cookie(SESSION_COOKIE, true),
            signin_cookie("pre", true),
        ] {
            assert!(c.contains("; Secure;"), "{c}");
        }
        assert!(!expired_cookie(SESSION_COOKIE, false).contains("Secure"));
        assert!(!signin_cookie("pre", false).contains("Secure"));
    }

    #[test]
    fn origin_must_be_our_own() {
        let host = Some("127.0.0.1:4599");
        assert!(origin_allowed(None, host, None));
        assert!(origin_allowed(Some("http://127.0.0.1:4599"), host, None));
        assert!(origin_allowed(
            Some("http://127.0.0.1:4599"),
            host,
            Some("same-origin")
        ));
        assert!(!origin_allowed(Some("http://evil.example"), host, None));
        assert!(!origin_allowed(
            Some("http://127.0.0.1:4599.evil.example"),
            host,
            None
        ));
        assert!(!origin_allowed(Some("http://127.0.0.1:4599"), None, None));
        // An opaque origin is foreign, whatever else the request says.
        assert!(!origin_allowed(Some("null"), host, None));
        assert!(!origin_allowed(Some("null"), host, Some("same-origin")));
        assert!(!origin_allowed(Some("null"), host, Some("cross-site")));
        assert!(!origin_allowed(None, host, Some("same-site")));
    }

    #[test]
    fn failed_sign_ins_are_throttled_per_address_for_a_window() {
        let t = SignInThrottle::default();
        let a: Option<IpAddr> = "127.0.0.1".parse().ok();
        let b: Option<IpAddr> = "127.0.0.2".parse().ok();
        let start = Instant::now();
        for i in 0..MAX_FAILED_SIGN_INS {
            assert_eq!(t.check(a, start), Ok(()), "attempt {i}");
            t.failed(a, start + Duration::from_secs(i as u64));
        }
        let now = start + Duration::from_secs(20);
        assert_eq!(
            t.check(a, now),
            Err(THROTTLE_WINDOW - Duration::from_secs(20))
        );
        // Another address is not affected.
        assert_eq!(t.check(b, now), Ok(()));
        // Once the oldest failure leaves the window, one more try.
        assert_eq!(t.check(a, start + THROTTLE_WINDOW), Ok(()));
    }
}
