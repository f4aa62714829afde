//! The registry check does not run while the HTTP client's wire trace (every byte, the
//! credentials included) would be logged. A test binary of its own: it installs a logger for
//! the whole process.

#![allow(clippy::unwrap_used)]

use berth_ecs::asm::parse_secret;

struct Everything;

impl log::Log for Everything {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        // Nothing may be logged that carries the credentials.
        assert!(!record.args().to_string().contains("hunter2"));
    }

    fn flush(&self) {}
}

#[test]
fn no_check_with_the_wire_trace_on() {
    log::set_logger(&Everything).unwrap();
    log::set_max_level(log::LevelFilter::Trace);
    let auth = parse_secret(Some(r#"{"username":"u","password":"hunter2"}"#)).unwrap();
    let c = berth_doctor::registry::check("app", "127.0.0.1:1/app:1", &auth);
    assert!(!c.ok);
    assert_eq!(
        c.reason,
        "not run: with trace logging on for ureq_proto::util, the credentials would be logged"
    );
}
