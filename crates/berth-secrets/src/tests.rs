#![allow(clippy::unwrap_used)]

use super::*;
use berth_store::SqliteStore;

const A: &str = "000000000000";
const B: &str = "111122223333";
const R: &str = "us-east-1";

fn vid(n: u8) -> String {
    format!("{:032}", n)
}

fn new_secret(name: &str) -> NewSecret {
    NewSecret {
        arn: new_arn(A, R, name),
        name: name.into(),
        account: A.into(),
        region: R.into(),
        description: None,
        kms_key_id: None,
        tags: vec![],
    }
}

fn version(id: &str, arn: &str, text: &str) -> NewVersion {
    let key = [9u8; 32];
    let v = SecretValue::String(text.to_string().into());
    NewVersion {
        id: id.into(),
        kms_key_arn: "arn:aws:kms:us-east-1:000000000000:key/k".into(),
        sealed: seal_value(&key, b"blob", arn, id, &v).unwrap(),
    }
}

#[test]
fn names_and_ids() {
    assert!(validate_name("db/prod_pass+x=y.z@w-1").is_ok());
    for bad in ["", "has space", "q?", "star*", &"a".repeat(513)] {
        assert!(
            matches!(validate_name(bad), Err(SecretsError::Validation(_))),
            "{bad}"
        );
    }
    assert!(validate_version_id("versionId", &"a".repeat(32)).is_ok());
    assert!(validate_version_id("versionId", &"a".repeat(31)).is_err());
    assert!(validate_version_id("versionId", &"a".repeat(65)).is_err());
    let arn = new_arn(A, R, "db");
    let suffix = &arn[arn.len() - 6..];
    assert!(suffix.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert!(arn.starts_with("arn:aws:secretsmanager:us-east-1:000000000000:secret:db-"));
}

#[test]
fn secret_ref_rules() {
    assert_eq!(
        SecretRef::parse("db").unwrap(),
        SecretRef::Name("db".into())
    );
    let full = "arn:aws:secretsmanager:us-east-1:111122223333:secret:db/pass-AbCdEf";
    assert!(
        matches!(SecretRef::parse(full).unwrap(), SecretRef::FullArn { name, .. } if name == "db/pass")
    );
    let partial = "arn:aws:secretsmanager:us-east-1:111122223333:secret:db/pass";
    assert!(
        matches!(SecretRef::parse(partial).unwrap(), SecretRef::PartialArn { name, .. } if name == "db/pass")
    );
    for bad in ["has space", "semi;colon", "bang!"] {
        assert!(
            matches!(SecretRef::parse(bad), Err(SecretsError::Validation(m)) if m.starts_with("Invalid name.")),
            "{bad}"
        );
    }
}

#[test]
fn create_resolve_and_values() {
    let s = SqliteStore::in_memory().unwrap();
    let sm = Secrets::new(&s);
    let n = new_secret("app/db");
    let arn = n.arn.clone();
    let v1 = vid(1);
    let created = sm
        .create(n.clone(), Some(version(&v1, &arn, "one")), 10)
        .unwrap();
    assert_eq!(created.versions[0].stages, vec![AWSCURRENT]);
    // Name, partial ARN and full ARN all find it.
    let partial = "arn:aws:secretsmanager:us-east-1:000000000000:secret:app/db";
    for id in ["app/db", partial, arn.as_str()] {
        assert_eq!(sm.resolve(A, R, id, 10).unwrap().arn, arn, "{id}");
    }
    // Another account: only the full ARN.
    assert!(sm.resolve(B, R, "app/db", 10).is_err());
    assert!(sm.resolve(B, R, partial, 10).is_err());
    assert_eq!(sm.resolve(B, R, &arn, 10).unwrap().arn, arn);
    // A full ARN with the wrong suffix does not resolve; nor does another region.
    let wrong = format!("{}XXXXXX", &arn[..arn.len() - 6]);
    assert!(sm.resolve(A, R, &wrong, 10).is_err());
    assert!(sm.resolve(A, "eu-west-1", &arn, 10).is_err());
    // The same name twice.
    assert!(matches!(
        sm.create(new_secret("app/db"), None, 11),
        Err(SecretsError::Exists(n)) if n == "app/db"
    ));
    // Open the value with the data key.
    let sealed = sm.sealed_value(&created, &v1).unwrap();
    assert_eq!(sealed.data_key_blob().unwrap(), b"blob");
    let got = sealed.open(&[9u8; 32], &arn, &v1).unwrap();
    assert_eq!(got, SecretValue::String("one".to_string().into()));
    // Bound to ARN and version.
    assert!(sealed.open(&[9u8; 32], &arn, &vid(2)).is_err());
    assert!(sealed.open(&[8u8; 32], &arn, &v1).is_err());
}

#[test]
fn staging_labels() {
    let s = SqliteStore::in_memory().unwrap();
    let sm = Secrets::new(&s);
    let n = new_secret("x");
    let arn = n.arn.clone();
    let sec = sm.create(n, Some(version(&vid(1), &arn, "1")), 1).unwrap();
    let cur = vec![AWSCURRENT.to_string()];
    let sec = sm
        .add_version(&sec, version(&vid(2), &arn, "2"), &cur, 2)
        .unwrap();
    assert_eq!(sec.select_version(None, None).unwrap().id, vid(2));
    assert_eq!(
        sec.select_version(None, Some(AWSPREVIOUS)).unwrap().id,
        vid(1)
    );
    let sec = sm
        .add_version(&sec, version(&vid(3), &arn, "3"), &cur, 3)
        .unwrap();
    assert_eq!(sec.version(&vid(1)).unwrap().stages, Vec::<String>::new());
    assert_eq!(sec.version(&vid(2)).unwrap().stages, vec![AWSPREVIOUS]);
    assert!(matches!(
        sm.add_version(&sec, version(&vid(3), &arn, "3"), &cur, 3),
        Err(SecretsError::VersionExists)
    ));
    // AWSPENDING on a new version leaves AWSCURRENT alone.
    let sec = sm
        .add_version(
            &sec,
            version(&vid(4), &arn, "4"),
            &[AWSPENDING.to_string()],
            4,
        )
        .unwrap();
    assert_eq!(sec.select_version(None, None).unwrap().id, vid(3));
    // Promote it.
    let v3 = vid(3);
    let v4 = vid(4);
    let sec = sm
        .update_stage(&sec, AWSCURRENT, Some(&v3), Some(&v4), 5)
        .unwrap();
    assert_eq!(sec.select_version(None, None).unwrap().id, vid(4));
    assert_eq!(
        sec.select_version(None, Some(AWSPREVIOUS)).unwrap().id,
        vid(3)
    );
    // Moving AWSCURRENT without naming its holder is refused.
    let v1 = vid(1);
    assert!(matches!(
        sm.update_stage(&sec, AWSCURRENT, None, Some(&v1), 6),
        Err(SecretsError::InvalidParameter(_))
    ));
    assert!(matches!(
        sec.select_version(Some(&vid(9)), None),
        Err(SecretsError::NoVersion(_))
    ));
    assert!(matches!(
        sec.select_version(None, Some("NOPE")),
        Err(SecretsError::NoVersionForStage(l)) if l == "NOPE"
    ));
}

#[test]
fn deletion_and_restore() {
    let s = SqliteStore::in_memory().unwrap();
    let sm = Secrets::new(&s);
    let sec = sm.create(new_secret("d"), None, 100).unwrap();
    assert!(matches!(
        sm.delete(&sec, Some(6), false, 100),
        Err(SecretsError::InvalidParameter(_))
    ));
    assert!(matches!(
        sm.delete(&sec, Some(31), false, 100),
        Err(SecretsError::InvalidParameter(_))
    ));
    assert!(matches!(
        sm.delete(&sec, Some(7), true, 100),
        Err(SecretsError::InvalidParameter(_))
    ));
    let d = sm.delete(&sec, None, false, 100).unwrap();
    assert_eq!(d.deletion_date, Some(100 + 30 * DAY_MS));
    assert!(matches!(
        sm.create(new_secret("d"), None, 101),
        Err(SecretsError::NameScheduledForDeletion)
    ));
    let r = sm.restore(&d, 102).unwrap();
    assert!(!r.is_deleted());
    // After the window the secret is gone and the name is free.
    let d = sm.delete(&r, Some(7), false, 200).unwrap();
    assert!(sm.resolve(A, R, "d", 200 + 7 * DAY_MS).is_err());
    assert!(sm.create(new_secret("d"), None, 200 + 7 * DAY_MS).is_ok());
    let _ = d;
    // Forced deletion is immediate.
    let f = sm.create(new_secret("f"), None, 1).unwrap();
    sm.delete(&f, None, true, 2).unwrap();
    assert!(sm.resolve(A, R, "f", 2).is_err());
}

#[test]
fn policies_tags_and_listing() {
    let s = SqliteStore::in_memory().unwrap();
    let sm = Secrets::new(&s);
    let a = sm.create(new_secret("alpha"), None, 1).unwrap();
    let b = sm.create(new_secret("beta"), None, 2).unwrap();
    assert!(matches!(
        validate_policy("{"),
        Err(SecretsError::MalformedPolicy(_))
    ));
    assert!(matches!(
        validate_policy(&"x".repeat(20_481)),
        Err(SecretsError::Validation(_))
    ));
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#;
    let a = sm.set_policy(&a, Some(doc), 3).unwrap();
    assert_eq!(a.resource_policy.as_deref(), Some(doc));
    let a = sm
        .tag(
            &a,
            &[Tag {
                key: "team".into(),
                value: "red".into(),
            }],
            4,
        )
        .unwrap();
    let q = |filters: Vec<(&str, Vec<&str>)>| ListQuery {
        filters: filters
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.into_iter().map(str::to_string).collect()))
            .collect(),
        ..ListQuery::default()
    };
    let names = |v: Vec<Secret>| v.into_iter().map(|s| s.name).collect::<Vec<_>>();
    assert_eq!(
        names(sm.list(A, R, &q(vec![]), 5).unwrap()),
        ["alpha", "beta"]
    );
    assert_eq!(
        names(sm.list(A, R, &q(vec![("name", vec!["be"])]), 5).unwrap()),
        ["beta"]
    );
    assert_eq!(
        names(sm.list(A, R, &q(vec![("name", vec!["!be"])]), 5).unwrap()),
        ["alpha"]
    );
    assert_eq!(
        names(
            sm.list(A, R, &q(vec![("tag-value", vec!["red"])]), 5)
                .unwrap()
        ),
        ["alpha"]
    );
    assert_eq!(
        names(sm.list(A, R, &q(vec![("all", vec!["TEAM"])]), 5).unwrap()),
        ["alpha"]
    );
    assert!(sm.list(A, R, &q(vec![("bogus", vec!["x"])]), 5).is_err());
    sm.delete(&b, None, false, 6).unwrap();
    assert_eq!(names(sm.list(A, R, &q(vec![]), 7).unwrap()), ["alpha"]);
    let all = ListQuery {
        include_planned_deletion: true,
        ..ListQuery::default()
    };
    assert_eq!(names(sm.list(A, R, &all, 7).unwrap()), ["alpha", "beta"]);
    let a = sm.untag(&a, &["team".to_string()], 8).unwrap();
    assert!(a.tags.is_empty());
}

#[test]
fn value_input_rules() {
    assert!(matches!(
        SecretValue::from_input(Some("a".into()), Some(vec![1])),
        Err(SecretsError::InvalidParameter(_))
    ));
    assert!(SecretValue::from_input(None, None).unwrap().is_none());
    assert!(SecretValue::from_input(Some("x".repeat(65_536)), None).is_ok());
    assert!(matches!(
        SecretValue::from_input(Some("x".repeat(65_537)), None),
        Err(SecretsError::Validation(_))
    ));
    assert!(matches!(
        SecretValue::from_input(None, Some(vec![0; 65_537])),
        Err(SecretsError::Validation(_))
    ));
}

/// A store that counts the rows its transactions hand out.
struct Counting {
    inner: SqliteStore,
    rows: std::sync::atomic::AtomicUsize,
}

struct CountingTx<'a> {
    inner: &'a dyn Tx,
    rows: &'a std::sync::atomic::AtomicUsize,
}

impl Tx for CountingTx<'_> {
    fn get(&self, table: &str, key: &str) -> Result<Option<Vec<u8>>, berth_store::StoreError> {
        let r = self.inner.get(table, key)?;
        self.rows.fetch_add(
            usize::from(r.is_some()),
            std::sync::atomic::Ordering::Relaxed,
        );
        Ok(r)
    }
    fn put(&self, table: &str, key: &str, value: &[u8]) -> Result<(), berth_store::StoreError> {
        self.inner.put(table, key, value)
    }
    fn delete(&self, table: &str, key: &str) -> Result<bool, berth_store::StoreError> {
        self.inner.delete(table, key)
    }
    fn scan(
        &self,
        table: &str,
        prefix: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, berth_store::StoreError> {
        let r = self.inner.scan(table, prefix)?;
        self.rows
            .fetch_add(r.len(), std::sync::atomic::Ordering::Relaxed);
        Ok(r)
    }
    fn scan_range(
        &self,
        table: &str,
        prefix: &str,
        after: Option<&str>,
        descending: bool,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, berth_store::StoreError> {
        let r = self
            .inner
            .scan_range(table, prefix, after, descending, limit)?;
        self.rows
            .fetch_add(r.len(), std::sync::atomic::Ordering::Relaxed);
        Ok(r)
    }
}

impl Store for Counting {
    fn read_tx(
        &self,
        f: &mut dyn FnMut(&dyn Tx) -> Result<(), berth_store::StoreError>,
    ) -> Result<(), berth_store::StoreError> {
        self.inner.read_tx(&mut |tx| {
            f(&CountingTx {
                inner: tx,
                rows: &self.rows,
            })
        })
    }
    fn write_tx(
        &self,
        f: &mut dyn FnMut(&dyn Tx) -> Result<(), berth_store::StoreError>,
    ) -> Result<(), berth_store::StoreError> {
        self.inner.write_tx(f)
    }
}

fn tagged(name: &str, team: &str) -> NewSecret {
    NewSecret {
        tags: vec![Tag {
            key: "team".into(),
            value: team.into(),
        }],
        ..new_secret(name)
    }
}

/// Pages through everything with `max` per page; returns the names and the page count.
fn all_pages(sm: &Secrets<'_>, q: &ListQuery, max: usize, now: u64) -> (Vec<String>, usize) {
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let (page, next) = sm.page(A, R, q, cursor.as_deref(), max, now).unwrap();
        pages += 1;
        assert!(page.len() <= max);
        names.extend(page.into_iter().map(|s| s.name));
        match next {
            Some(c) => cursor = Some(c),
            None => return (names, pages),
        }
    }
}

#[test]
fn list_pages_with_a_keyed_cursor_in_every_order() {
    let s = SqliteStore::in_memory().unwrap();
    let sm = Secrets::new(&s);
    // Created at 100 + i, names in the reverse order of creation; every third is "red".
    let mut made = Vec::new();
    for i in 0..25u64 {
        let name = format!("s{:02}", 50 - i);
        let team = if i % 3 == 0 { "red" } else { "blue" };
        made.push(sm.create(tagged(&name, team), None, 100 + i).unwrap());
    }
    // Touch a few on a later day so that last-accessed differs.
    sm.touch(&made[4], "none", 200_000_000).unwrap();
    sm.touch(&made[2], "none", 300_000_000).unwrap();
    // One secret in another region must never show.
    let other = NewSecret {
        region: "eu-west-1".into(),
        arn: new_arn(A, "eu-west-1", "s99"),
        ..new_secret("s99")
    };
    sm.create(other, None, 1).unwrap();
    let now = 400_000_000;
    let by_created: Vec<String> = made.iter().map(|s| s.name.clone()).collect();
    let q = ListQuery::default();
    for max in [1, 4, 7, 25, 100] {
        let (names, pages) = all_pages(&sm, &q, max, now);
        assert_eq!(names, by_created, "max {max}");
        assert_eq!(pages, 25usize.div_ceil(max).max(1), "max {max}");
    }
    let desc = ListQuery {
        descending: true,
        ..ListQuery::default()
    };
    let mut rev = by_created.clone();
    rev.reverse();
    assert_eq!(all_pages(&sm, &desc, 4, now).0, rev);
    let by_name = ListQuery {
        sort_by: Some("name".into()),
        ..ListQuery::default()
    };
    let mut sorted = by_created.clone();
    sorted.sort();
    assert_eq!(all_pages(&sm, &by_name, 6, now).0, sorted);
    let by_name_desc = ListQuery {
        sort_by: Some("name".into()),
        descending: true,
        ..ListQuery::default()
    };
    assert_eq!(all_pages(&sm, &by_name_desc, 6, now).0, rev_sorted(&sorted));
    // Last accessed: never-accessed first (by name on ties... by key: value then name).
    let by_access = ListQuery {
        sort_by: Some("last-accessed-date".into()),
        ..ListQuery::default()
    };
    let names = all_pages(&sm, &by_access, 5, now).0;
    assert_eq!(&names[23..], [made[4].name.clone(), made[2].name.clone()]);
    assert_eq!(names.len(), 25);
    // Filters: only the red ones, across pages, in order.
    let red = ListQuery {
        filters: vec![("tag-value".into(), vec!["red".into()])],
        ..ListQuery::default()
    };
    let want: Vec<String> = by_created
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 == 0)
        .map(|(_, n)| n.clone())
        .collect();
    assert_eq!(all_pages(&sm, &red, 2, now).0, want);
    assert_eq!(sm.list(A, R, &red, now).unwrap().len(), 9);
    // Deleted secrets are left out unless asked for; an update keeps the index in step.
    sm.delete(&made[0], None, false, 300).unwrap();
    let (names, _) = all_pages(&sm, &q, 10, now);
    assert_eq!(names.len(), 24);
    assert!(!names.contains(&made[0].name));
    let with_deleted = ListQuery {
        include_planned_deletion: true,
        sort_by: Some("last-changed-date".into()),
        ..ListQuery::default()
    };
    let (names, _) = all_pages(&sm, &with_deleted, 10, now);
    assert!(names.contains(&made[0].name));
    assert_eq!(names.len(), 25);
    // A tag changes LastChangedDate: that secret moves to the end of that order.
    sm.tag(&made[5], &[], 350).unwrap();
    let (names, _) = all_pages(&sm, &with_deleted, 10, now);
    assert_eq!(names.last(), Some(&made[5].name));
    assert_eq!(names.len(), 25);
    // Forced deletion removes its index entries.
    sm.delete(&made[1], None, true, 301).unwrap();
    assert_eq!(all_pages(&sm, &with_deleted, 10, now).0.len(), 24);
    let leftovers = s
        .read(|tx| tx.scan(ORDER, &format!("{A}/{R}/")))
        .unwrap()
        .len();
    assert_eq!(leftovers, 24 * 3);
}

fn rev_sorted(v: &[String]) -> Vec<String> {
    let mut r = v.to_vec();
    r.reverse();
    r
}

#[test]
fn a_page_reads_only_what_it_needs() {
    let s = Counting {
        inner: SqliteStore::in_memory().unwrap(),
        rows: std::sync::atomic::AtomicUsize::new(0),
    };
    let sm = Secrets::new(&s);
    for i in 0..1_000u64 {
        sm.create(tagged(&format!("n{i:04}"), "blue"), None, i)
            .unwrap();
    }
    let reads = |q: &ListQuery, cursor: Option<&str>, max: usize| {
        s.rows.store(0, std::sync::atomic::Ordering::Relaxed);
        let (page, next) = sm.page(A, R, q, cursor, max, 10_000).unwrap();
        assert_eq!(page.len(), max);
        (s.rows.load(std::sync::atomic::Ordering::Relaxed), next)
    };
    for q in [
        ListQuery::default(),
        ListQuery {
            sort_by: Some("name".into()),
            ..ListQuery::default()
        },
    ] {
        let (rows, next) = reads(&q, None, 10);
        // Index keys and secrets of the page plus the one that tells a next page exists.
        assert!(rows <= 2 * 11, "{rows} rows read for a page of 10");
        let (rows, _) = reads(&q, next.as_deref(), 10);
        assert!(rows <= 2 * 11, "{rows} rows read for the second page");
    }
}

#[test]
fn order_index_is_built_for_old_data() {
    let s = SqliteStore::in_memory().unwrap();
    let sm = Secrets::new(&s);
    sm.create(new_secret("b"), None, 1).unwrap();
    sm.create(new_secret("a"), None, 2).unwrap();
    // As a data dir from before the index: no ORDER entries at all.
    s.write(|tx| -> Result<(), berth_store::StoreError> {
        for (k, _) in tx.scan(ORDER, "")? {
            tx.delete(ORDER, &k)?;
        }
        Ok(())
    })
    .unwrap();
    assert!(sm.list(A, R, &ListQuery::default(), 3).unwrap().is_empty());
    sm.ensure_order_index().unwrap();
    sm.ensure_order_index().unwrap();
    let names: Vec<String> = sm
        .list(A, R, &ListQuery::default(), 3)
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["b", "a"]);
}

#[test]
fn records_in_seconds_become_milliseconds_and_the_order_index_follows() {
    let s = SqliteStore::in_memory().unwrap();
    let sm = Secrets::new(&s);
    sm.create(new_secret("old"), None, 5_000).unwrap();
    // As a record written with seconds: the flag off, the old index entries in seconds.
    s.write(|tx| -> Result<(), SecretsError> {
        let key = format!("{A}/{R}/old");
        let mut rec: Secret = get_json(tx, SECRETS, &key)?.unwrap();
        rec.timestamps_ms = false;
        rec.created = 5;
        rec.last_changed = 5;
        put_json(tx, SECRETS, &key, &rec)?;
        for (k, _) in tx.scan(ORDER, "")? {
            tx.delete(ORDER, &k)?;
        }
        for f in ["c", "m", "a"] {
            let v = if f == "a" { 0 } else { 5 };
            tx.put(ORDER, &order_key(A, R, f, v, "old"), b"")?;
        }
        tx.put(ORDER, "!built-v1", b"")?;
        Ok(())
    })
    .unwrap();
    let got = sm.resolve(A, R, "old", 6_000).unwrap();
    assert_eq!((got.created, got.last_changed), (5_000, 5_000));
    sm.ensure_order_index().unwrap();
    let listed = sm.list(A, R, &ListQuery::default(), 6_000).unwrap();
    assert_eq!(listed.len(), 1, "one entry per secret after the rebuild");
    assert_eq!(listed[0].created, 5_000);
    let keys: Vec<String> = s
        .read(|tx| tx.scan(ORDER, &format!("{A}/{R}/c/")))
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(keys, [order_key(A, R, "c", 5_000, "old")]);
}

#[test]
fn new_current_version_takes_pending_off_the_previous_one() {
    let s = SqliteStore::in_memory().unwrap();
    let sm = Secrets::new(&s);
    let arn = new_arn(A, R, "p");
    let sec = sm
        .create(
            NewSecret {
                arn: arn.clone(),
                ..new_secret("p")
            },
            Some(version(&vid(1), &arn, "one")),
            1,
        )
        .unwrap();
    let sec = sm
        .update_stage(&sec, AWSPENDING, None, Some(&vid(1)), 2)
        .unwrap();
    assert_eq!(
        sec.version(&vid(1)).unwrap().stages,
        [AWSCURRENT, AWSPENDING]
    );
    let sec = sm
        .add_version(&sec, version(&vid(2), &arn, "two"), &[AWSCURRENT.into()], 3)
        .unwrap();
    assert_eq!(sec.version(&vid(1)).unwrap().stages, [AWSPREVIOUS]);
    assert_eq!(sec.version(&vid(2)).unwrap().stages, [AWSCURRENT]);
}

#[test]
fn each_version_records_its_own_last_access() {
    let s = SqliteStore::in_memory().unwrap();
    let sm = Secrets::new(&s);
    let arn = new_arn(A, R, "t");
    let sec = sm
        .create(
            NewSecret {
                arn: arn.clone(),
                ..new_secret("t")
            },
            Some(version(&vid(1), &arn, "one")),
            1,
        )
        .unwrap();
    let sec = sm
        .add_version(&sec, version(&vid(2), &arn, "two"), &[AWSCURRENT.into()], 2)
        .unwrap();
    let day = 3 * DAY_MS + 5_000;
    sm.touch(&sec, &vid(2), day).unwrap();
    let sec = sm.resolve(A, R, "t", day).unwrap();
    sm.touch(&sec, &vid(1), day + 1).unwrap();
    let sec = sm.resolve(A, R, "t", day).unwrap();
    assert_eq!(sec.last_accessed, Some(3 * DAY_MS));
    assert_eq!(
        sec.version(&vid(1)).unwrap().last_accessed,
        Some(3 * DAY_MS)
    );
    assert_eq!(
        sec.version(&vid(2)).unwrap().last_accessed,
        Some(3 * DAY_MS)
    );
}

#[test]
fn name_and_description_filters_match_each_word() {
    let s = SqliteStore::in_memory().unwrap();
    let sm = Secrets::new(&s);
    sm.create(
        NewSecret {
            description: Some("Primary database credentials".into()),
            ..new_secret("prod/db-main")
        },
        None,
        1,
    )
    .unwrap();
    sm.create(new_secret("staging-api"), None, 2).unwrap();
    let names = |key: &str, v: &str| -> Vec<String> {
        let q = ListQuery {
            filters: vec![(key.into(), vec![v.into()])],
            ..ListQuery::default()
        };
        sm.list(A, R, &q, 3)
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect()
    };
    assert_eq!(names("name", "db"), ["prod/db-main"]);
    assert_eq!(names("name", "prod/db"), ["prod/db-main"]);
    assert_eq!(names("name", "main prod"), ["prod/db-main"]);
    assert_eq!(names("name", "api"), ["staging-api"]);
    assert!(names("name", "ain").is_empty());
    assert!(names("name", "main api").is_empty());
    assert_eq!(names("description", "database primary"), ["prod/db-main"]);
    assert!(names("description", "data other").is_empty());
    assert_eq!(names("all", "credentials prod"), ["prod/db-main"]);
    assert_eq!(names("name", "!db"), ["staging-api"]);
}

#[test]
fn replicas_are_written_removed_and_promoted() {
    let s = SqliteStore::in_memory().unwrap();
    let sm = Secrets::new(&s);
    let arn = new_arn(A, R, "r");
    let primary = sm
        .create(
            NewSecret {
                arn: arn.clone(),
                ..new_secret("r")
            },
            Some(version(&vid(1), &arn, "one")),
            1,
        )
        .unwrap();
    let replica_arn = arn.replace(R, "eu-west-1");
    let replica = Secret {
        arn: replica_arn.clone(),
        region: "eu-west-1".into(),
        primary_region: Some(R.into()),
        ..primary.clone()
    };
    sm.write_replica(&replica, vec![version(&vid(1), &replica_arn, "one")])
        .unwrap();
    let got = sm.resolve(A, "eu-west-1", "r", 2).unwrap();
    assert!(got.is_replica());
    assert!(sm.sealed_value(&got, &vid(1)).is_ok());
    let promoted = sm.promote(&got, 3).unwrap();
    assert!(!promoted.is_replica());
    sm.remove(&promoted).unwrap();
    assert!(sm.resolve(A, "eu-west-1", "r", 4).is_err());
    assert!(sm.sealed_value(&promoted, &vid(1)).is_err());
    let p = sm
        .set_replicas(
            &primary,
            vec![Replica {
                region: "eu-west-1".into(),
                kms_key_id: None,
                status: "InSync".into(),
                message: None,
            }],
            5,
        )
        .unwrap();
    assert_eq!(p.replicas.len(), 1);
    let rot = sm
        .set_rotation(
            &p,
            Rotation {
                enabled: true,
                lambda_arn: Some("arn:aws:lambda:us-east-1:000000000000:function:f".into()),
                rules: RotationRules {
                    automatically_after_days: Some(30),
                    ..RotationRules::default()
                },
                next: Some(30 * DAY_MS),
            },
            6,
        )
        .unwrap();
    assert!(rot.rotation.as_ref().is_some_and(|r| r.enabled));
}
