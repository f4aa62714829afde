//! What every [`Store`] must do, as tests over `&dyn Store`: the SQLite store's tests and the
//! PostgreSQL store's run these same functions.

#![allow(clippy::unwrap_used)]

use crate::{Store, StoreError, StoreExt, get_json, put_json, scan_json};

#[derive(Debug, thiserror::Error)]
enum TestError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("domain said no")]
    No,
}

pub(crate) fn put_get_scan_delete(s: &dyn Store) {
    s.write(|tx| -> Result<(), StoreError> {
        put_json(tx, "t", "a/1", &1u32)?;
        put_json(tx, "t", "a/2", &2u32)?;
        put_json(tx, "t", "b/1", &3u32)?;
        put_json(tx, "u", "a/9", &9u32)
    })
    .unwrap();
    let (one, scan): (Option<u32>, Vec<(String, u32)>) = s
        .read(|tx| -> Result<_, StoreError> {
            Ok((get_json(tx, "t", "a/1")?, scan_json(tx, "t", "a/")?))
        })
        .unwrap();
    assert_eq!(one, Some(1));
    assert_eq!(scan, vec![("a/1".to_string(), 1), ("a/2".to_string(), 2)]);
    // An overwrite replaces the value.
    s.write(|tx| put_json(tx, "t", "a/2", &22u32)).unwrap();
    let two: Option<u32> = s.read(|tx| get_json(tx, "t", "a/2")).unwrap();
    assert_eq!(two, Some(22));
    let removed = s.write(|tx| tx.delete("t", "a/1")).unwrap();
    assert!(removed);
    let again = s.write(|tx| tx.delete("t", "a/1")).unwrap();
    assert!(!again);
    let gone: Option<u32> = s.read(|tx| get_json(tx, "t", "a/1")).unwrap();
    assert_eq!(gone, None);
}

pub(crate) fn scan_range_pages_both_ways(s: &dyn Store) {
    s.write(|tx| -> Result<(), StoreError> {
        for i in 0..10u32 {
            put_json(tx, "t", &format!("p/{i:02}"), &i)?;
        }
        put_json(tx, "t", "o/1", &99u32)?;
        put_json(tx, "t", "q/1", &99u32)
    })
    .unwrap();
    let keys = |after: Option<&str>, desc: bool, limit: usize| -> Vec<String> {
        s.read(|tx| tx.scan_range("t", "p/", after, desc, limit))
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    };
    assert_eq!(keys(None, false, 3), ["p/00", "p/01", "p/02"]);
    assert_eq!(keys(Some("p/02"), false, 3), ["p/03", "p/04", "p/05"]);
    assert_eq!(keys(Some("p/08"), false, 3), ["p/09"]);
    assert!(keys(Some("p/09"), false, 3).is_empty());
    assert_eq!(keys(None, true, 2), ["p/09", "p/08"]);
    assert_eq!(keys(Some("p/08"), true, 2), ["p/07", "p/06"]);
    assert_eq!(keys(Some("p/01"), true, 5), ["p/00"]);
    // A cursor outside the prefix does not leak other keys.
    assert_eq!(keys(Some("a"), false, 2), ["p/00", "p/01"]);
    assert_eq!(keys(Some("z"), true, 1), ["p/09"]);
}

/// Keys come back in ASCII byte order (upper case before lower, punctuation where its byte
/// puts it), whatever the database's collation.
pub(crate) fn keys_are_in_byte_order(s: &dyn Store) {
    let mut keys = vec![
        "k/a", "k/B", "k/b", "k/A", "k/-", "k/_", "k/.", "k/~", "k/0", "k/a-b", "k/a.b", "k/ab",
        "k/aB", "k/a_b", "k/a/b", "k/ :",
    ];
    s.write(|tx| -> Result<(), StoreError> {
        for k in &keys {
            tx.put("t", k, k.as_bytes())?;
        }
        Ok(())
    })
    .unwrap();
    keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    let scanned: Vec<String> = s
        .read(|tx| tx.scan("t", "k/"))
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(scanned, keys);
    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = s
            .read(|tx| tx.scan_range("t", "k/", after.as_deref(), false, 3))
            .unwrap();
        let Some((last, _)) = page.last() else { break };
        after = Some(last.clone());
        paged.extend(page.into_iter().map(|(k, _)| k));
    }
    assert_eq!(paged, keys);
    let mut down: Vec<String> = s
        .read(|tx| tx.scan_range("t", "k/", None, true, 100))
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    down.reverse();
    assert_eq!(down, keys);
}

pub(crate) fn failed_closure_rolls_back(s: &dyn Store) {
    let r: Result<(), TestError> = s.write(|tx| {
        put_json(tx, "t", "k", &"half")?;
        Err(TestError::No)
    });
    assert!(matches!(r, Err(TestError::No)));
    let v: Option<String> = s.read(|tx| get_json(tx, "t", "k")).unwrap();
    assert_eq!(v, None, "a failed transaction must leave nothing behind");
    // The store is usable after it.
    s.write(|tx| put_json(tx, "t", "k", &"whole")).unwrap();
    let v: Option<String> = s.read(|tx| get_json(tx, "t", "k")).unwrap();
    assert_eq!(v.as_deref(), Some("whole"));
}

pub(crate) fn the_root_key_check_is_recorded_once(s: &dyn Store, holds_data: &dyn Fn() -> bool) {
    assert!(!holds_data());
    assert_eq!(crate::root_key_check(s).unwrap(), None);
    assert_eq!(crate::record_root_key_check(s, b"one").unwrap(), None);
    assert_eq!(
        crate::record_root_key_check(s, b"two").unwrap().as_deref(),
        Some(&b"one"[..])
    );
    assert_eq!(
        crate::root_key_check(s).unwrap().as_deref(),
        Some(&b"one"[..])
    );
    // The check value is the store's own record, not data.
    assert!(!holds_data());
    s.write(|tx| put_json(tx, "t", "k", &1u32)).unwrap();
    assert!(holds_data());
}

pub(crate) fn a_panic_inside_a_transaction_rolls_it_back(s: &dyn Store) {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = s.write(|tx| -> Result<(), StoreError> {
            put_json(tx, "t", "k", &1u32)?;
            panic!("boom")
        });
    }));
    assert!(r.is_err());
    let v: Option<u32> = s.read(|tx| get_json(tx, "t", "k")).unwrap();
    assert_eq!(v, None);
    s.write(|tx| put_json(tx, "t", "k", &2u32)).unwrap();
    let v: Option<u32> = s.read(|tx| get_json(tx, "t", "k")).unwrap();
    assert_eq!(v, Some(2));
}

/// Binary values of any byte survive as they are.
pub(crate) fn values_are_bytes(s: &dyn Store) {
    let all: Vec<u8> = (0..=255u8).collect();
    s.write(|tx| tx.put("t", "bin", &all)).unwrap();
    s.write(|tx| tx.put("t", "empty", &[])).unwrap();
    assert_eq!(s.read(|tx| tx.get("t", "bin")).unwrap(), Some(all));
    assert_eq!(s.read(|tx| tx.get("t", "empty")).unwrap(), Some(Vec::new()));
}
