//! Console sessions and CSRF protection.
//!
//! A session is created by signing in with an access key and its secret (or with an IAM user's
//! password: then it names the user and its login profile instead of a key), and lives in memory
//! only: a 256-bit id from the operating system's generator goes to the browser in an
//! `HttpOnly; SameSite=Strict; Path=/console` cookie; the server keeps the SHA-256 of the id (a
//! lookup never compares ids byte by byte), the access key id, the region, the per-session
//! CSRF token and the expiry. The secret is never kept. Signing out deletes the session.
//! Failed sign-ins are counted per address and throttled ([`SignInThrottle`]).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "berth_console";
/// The pre-session cookie that protects the sign-in form against login CSRF (double submit).
pub const SIGNIN_COOKIE: &str = "berth_console_signin";
/// How long a session lasts after sign-in.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Most sessions kept at once; sign-in is refused past it (expired ones are dropped first).
pub const MAX_SESSIONS: usize = 10_000;

/// What the server keeps about a signed-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    /// The access key the user signed in with; its principal is looked up on every request,
    /// so a deleted or deactivated key ends the session.
    pub access_key_id: String,
    pub region: String,
    /// The synchronizer token every state-changing form must carry.
    pub csrf: String,
    pub expires: Instant,
    /// A one-shot confirmation to show on the next page (after a redirect).
    pub flash: Option<String>,
    /// Set for a session opened with an IAM user's password (then `access_key_id` is empty):
    /// the user is looked up on every request, and the session ends with its login profile.
    pub login: Option<berth_control::iam::PasswordLogin>,
}

/// Why a session could not be created.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SessionError {
    #[error("too many console sessions: try again later")]
    Full,
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

/// The server's sessions, by SHA-256 of their id.
#[derive(Debug, Default)]
pub struct Sessions {
    inner: Mutex<HashMap<String, Session>>,
}

fn digest(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

/// 256 random bits from the operating system's generator, hex-encoded.
pub fn token() -> String {
    let mut buf = [0u8; 32];
    berth_core::ids::random_bytes(&mut buf);
    hex::encode(buf)
}

/// Whether two tokens are equal, in time independent of where they differ. An empty token
/// never matches.
pub fn tokens_match(given: &str, expected: &str) -> bool {
    !given.is_empty() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates a session; returns its id (for the cookie).
    pub fn create(
        &self,
        access_key_id: &str,
        region: &str,
        now: Instant,
    ) -> Result<String, SessionError> {
        let mut map = self.lock();
        if map.len() >= MAX_SESSIONS {
            map.retain(|_, s| s.expires > now);
            if map.len() >= MAX_SESSIONS {
                return Err(SessionError::Full);
            }
        }
        let id = token();
        map.insert(
            digest(&id),
            Session {
                access_key_id: access_key_id.to_string(),
                region: region.to_string(),
                csrf: token(),
                expires: now + SESSION_TTL,
                flash: None,
                login: None,
            },
        );
        Ok(id)
    }

    /// Creates a session for an IAM user signed in with its password; returns its id.
    pub fn create_for_password(
        &self,
        login: berth_control::iam::PasswordLogin,
        region: &str,
        now: Instant,
    ) -> Result<String, SessionError> {
        let id = self.create("", region, now)?;
        if let Some(s) = self.lock().get_mut(&digest(&id)) {
            s.login = Some(login);
        }
        Ok(id)
    }

    /// The live session with this id (an expired one is deleted), with its flash taken.
    pub fn get(&self, id: &str, now: Instant) -> Option<Session> {
        let key = digest(id);
        let mut map = self.lock();
        let live = map.get(&key).is_some_and(|s| s.expires > now);
        if !live {
            map.remove(&key);
            return None;
        }
        let s = map.get_mut(&key)?;
        let view = s.clone();
        s.flash = None;
        Some(view)
    }

    /// Leaves a message for the session's next page.
    pub fn flash(&self, id: &str, message: String) {
        if let Some(s) = self.lock().get_mut(&digest(id)) {
            s.flash = Some(message);
        }
    }

    /// Deletes the session (sign-out, or its key is gone).
    pub fn remove(&self, id: &str) {
        self.lock().remove(&digest(id));
    }

    pub fn len(&self) -> usize {
        self.lock().len()
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

/// `Set-Cookie` for a new session.
pub fn session_cookie(id: &str) -> String {
    format!(
        "{SESSION_COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/console; Max-Age={}",
        SESSION_TTL.as_secs()
    )
}

/// `Set-Cookie` that deletes cookie `name`.
pub fn expired_cookie(name: &str) -> String {
    format!("{name}=; HttpOnly; SameSite=Strict; Path=/console; Max-Age=0")
}

/// `Set-Cookie` for the sign-in form's pre-session token.
pub fn signin_cookie(token: &str) -> String {
    format!("{SIGNIN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/console; Max-Age=3600")
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
    fn session_lifecycle() {
        let sessions = Sessions::default();
        let now = Instant::now();
        let id = sessions
            .create("AKIAEXAMPLE", "us-east-1", now)
            .unwrap_or_default();
        let s = sessions.get(&id, now).map(|s| s.access_key_id);
        assert_eq!(s.as_deref(), Some("AKIAEXAMPLE"));
        // The id is not the key it is stored under, and another id finds nothing.
        assert!(sessions.get(&token(), now).is_none());
        assert!(sessions.get(&digest(&id), now).is_none());
        // Two sessions get different CSRF tokens.
        let id2 = sessions
            .create("AKIAEXAMPLE", "us-east-1", now)
            .unwrap_or_default();
        let (c1, c2) = (
            sessions.get(&id, now).map(|s| s.csrf),
            sessions.get(&id2, now).map(|s| s.csrf),
        );
        assert!(c1.is_some() && c1 != c2);
        // Flash messages are shown once.
        sessions.flash(&id, "created".into());
        assert_eq!(
            sessions.get(&id, now).and_then(|s| s.flash).as_deref(),
            Some("created")
        );
        assert_eq!(sessions.get(&id, now).and_then(|s| s.flash), None);
        // Expiry deletes; sign-out deletes.
        assert!(sessions.get(&id, now + SESSION_TTL).is_none());
        assert!(sessions.get(&id, now).is_none());
        sessions.remove(&id2);
        assert!(sessions.get(&id2, now).is_none());
        assert!(sessions.is_empty());
    }

    #[test]
    fn cookies_are_read_by_exact_name() {
        let h = "a=1; berth_console_signin=pre; berth_console=sess";
        assert_eq!(cookie(h, SESSION_COOKIE), Some("sess"));
        assert_eq!(cookie(h, SIGNIN_COOKIE), Some("pre"));
        assert_eq!(cookie(h, "b"), None);
        let c = session_cookie("abc");
        for attr in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
            assert!(c.contains(attr), "{c}");
        }
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
