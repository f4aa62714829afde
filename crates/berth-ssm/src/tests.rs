#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use berth_store::SqliteStore;

use super::*;
use crate::filter::{Use, parse_filters};
use crate::names::{Selector, parse_reference};

fn store() -> ((), Arc<SqliteStore>) {
    ((), Arc::new(SqliteStore::in_memory().unwrap()))
}

fn version(value: &str) -> Version {
    Version {
        version: 0,
        kind: ParamType::String,
        value: value.into(),
        key_id: None,
        description: None,
        allowed_pattern: None,
        tier: "Standard".into(),
        data_type: "text".into(),
        modified: 1,
        modified_user: "arn:aws:iam::111122223333:root".into(),
    }
}

fn put(ssm: &Ssm<'_>, name: &str, value: &str, overwrite: bool) -> Result<Parameter, SsmError> {
    ssm.put(NewVersion {
        account: "111122223333".into(),
        region: "us-east-1".into(),
        name: name.into(),
        version: version(value),
        overwrite,
        tags: vec![],
    })
}

const A: &str = "111122223333";
const R: &str = "us-east-1";

#[test]
fn versions_count_from_one_and_overwrite_is_required() {
    let (_d, s) = store();
    let ssm = Ssm::new(s.as_ref());
    assert_eq!(put(&ssm, "/app/db", "a", false).unwrap().latest.version, 1);
    assert!(matches!(
        put(&ssm, "/app/db", "b", false),
        Err(SsmError::AlreadyExists)
    ));
    let p = put(&ssm, "/app/db", "b", true).unwrap();
    assert_eq!(p.latest.version, 2);
    assert_eq!(ssm.version(&p, 1).unwrap().unwrap().value, "a");
    assert_eq!(
        p.arn(),
        "arn:aws:ssm:us-east-1:111122223333:parameter/app/db"
    );
    assert_eq!(
        arn(A, R, "plain"),
        "arn:aws:ssm:us-east-1:111122223333:parameter/plain"
    );
}

#[test]
fn the_oldest_of_a_hundred_versions_goes_unless_labelled() {
    let (_d, s) = store();
    let ssm = Ssm::new(s.as_ref());
    put(&ssm, "p", "0", false).unwrap();
    for i in 1..100 {
        put(&ssm, "p", &i.to_string(), true).unwrap();
    }
    let p = put(&ssm, "p", "100", true).unwrap();
    assert_eq!((p.oldest, p.latest.version), (2, 101));
    assert!(ssm.version(&p, 1).unwrap().is_none());
    assert_eq!(ssm.history(&p, None, 200).unwrap().len(), 100);
    ssm.label(A, R, "p", Some(2), &["keep".into()]).unwrap();
    assert!(matches!(
        put(&ssm, "p", "x", true),
        Err(SsmError::MaxVersions { version: 2, .. })
    ));
}

#[test]
fn labels_move_and_are_limited_per_version() {
    let (_d, s) = store();
    let ssm = Ssm::new(s.as_ref());
    put(&ssm, "p", "a", false).unwrap();
    put(&ssm, "p", "b", true).unwrap();
    let (invalid, v) = ssm
        .label(
            A,
            R,
            "p",
            Some(1),
            &["prod".into(), "1bad".into(), "awsx".into()],
        )
        .unwrap();
    assert_eq!(
        (invalid, v),
        (vec!["1bad".to_string(), "awsx".to_string()], 1)
    );
    ssm.label(A, R, "p", None, &["prod".into()]).unwrap();
    let p = ssm.get(A, R, "p").unwrap().unwrap();
    assert_eq!(p.labels_of(2), vec!["prod".to_string()]);
    assert!(p.labels_of(1).is_empty());
    let many: Vec<String> = (0..11).map(|i| format!("l{i}")).collect();
    assert!(matches!(
        ssm.label(A, R, "p", Some(1), &many),
        Err(SsmError::LabelLimit)
    ));
    assert!(matches!(
        ssm.label(A, R, "p", Some(9), &["x".into()]),
        Err(SsmError::VersionNotFound { .. })
    ));
    let (removed, invalid) = ssm
        .unlabel(A, R, "p", 2, &["prod".into(), "nope".into()])
        .unwrap();
    assert_eq!(
        (removed, invalid),
        (vec!["prod".to_string()], vec!["nope".to_string()])
    );
}

#[test]
fn scans_are_by_prefix_and_paged_by_name() {
    let (_d, s) = store();
    let ssm = Ssm::new(s.as_ref());
    for n in ["/app/a", "/app/b/c", "/app/b/d", "/apple", "/other/x"] {
        put(&ssm, n, "v", false).unwrap();
    }
    let page = ssm.scan(A, R, "/app/", None, 2).unwrap();
    let names: Vec<&str> = page.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["/app/a", "/app/b/c"]);
    let page = ssm.scan(A, R, "/app/", Some("/app/b/c"), 10).unwrap();
    assert_eq!(page.len(), 1);
    ssm.delete(A, R, "/app/a").unwrap();
    assert!(matches!(
        ssm.delete(A, R, "/app/a"),
        Err(SsmError::NotFound)
    ));
    assert!(ssm.get(A, R, "/app/a").unwrap().is_none());
}

#[test]
fn names_are_checked_in_aws_words() {
    let len = "arn:aws:ssm:us-east-1:111122223333:parameter/".len();
    assert!(validate_name("/a/b-c_d.e", len).is_ok());
    assert!(validate_name("plain", len).is_ok());
    assert!(
        matches!(validate_name("a/b", len), Err(SsmError::Validation(m)) if m == names::NOT_FULLY_QUALIFIED)
    );
    assert!(
        matches!(validate_name("a b", len), Err(SsmError::Validation(m)) if m == names::INVALID_NAME)
    );
    assert!(matches!(
        validate_name("ssm-x", len),
        Err(SsmError::Validation(_))
    ));
    assert!(matches!(
        validate_name("/AWS/x", len),
        Err(SsmError::Reserved(_))
    ));
    let deep: String = (0..16).map(|i| format!("/l{i}")).collect();
    assert!(matches!(
        validate_name(&deep, len),
        Err(SsmError::HierarchyLevel)
    ));
    let ok: String = (0..15).map(|i| format!("/l{i}")).collect();
    assert!(validate_name(&ok, len).is_ok());
    assert!(validate_name(&"x".repeat(1011 - len), len).is_ok());
    assert!(validate_name(&"x".repeat(1012 - len), len).is_err());
}

#[test]
fn references_parse_names_arns_and_selectors() {
    let r = parse_reference("/app/db:3", A, R).unwrap();
    assert_eq!(
        (r.given.as_str(), r.names.clone(), r.selector),
        ("/app/db", vec!["/app/db".to_string()], Selector::Version(3))
    );
    let arn = "arn:aws:ssm:us-east-1:111122223333:parameter/app/db";
    let r = parse_reference(&format!("{arn}:prod"), A, R).unwrap();
    assert_eq!(r.given, arn);
    assert_eq!(r.names, vec!["/app/db".to_string()]);
    assert_eq!(r.selector, Selector::Label("prod".into()));
    let r = parse_reference("arn:aws:ssm:us-east-1:111122223333:parameter/top", A, R).unwrap();
    assert_eq!(r.names, vec!["top".to_string(), "/top".to_string()]);
    assert!(parse_reference("arn:aws:ssm:us-west-2:111122223333:parameter/x", A, R).is_none());
    assert!(parse_reference("a:b:c", A, R).is_none());
}

#[test]
fn filters_are_checked_and_matched() {
    let f = |k: &str, o: Option<&str>, v: &[&str]| {
        (
            k.to_string(),
            o.map(str::to_string),
            v.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
    };
    assert!(matches!(
        parse_filters(&[f("Label", None, &["x"])], Use::Describe),
        Err(SsmError::InvalidFilterKey(_))
    ));
    assert!(matches!(
        parse_filters(&[f("Name", None, &["x"])], Use::ByPath),
        Err(SsmError::InvalidFilterKey(_))
    ));
    assert!(matches!(
        parse_filters(&[f("Path", Some("Deep"), &["/a"])], Use::Describe),
        Err(SsmError::InvalidFilterOption(_))
    ));
    assert!(matches!(
        parse_filters(&[f("Bogus", None, &["x"])], Use::Describe),
        Err(SsmError::Validation(_))
    ));
    assert!(matches!(
        parse_filters(&[f("Type", None, &[])], Use::Describe),
        Err(SsmError::InvalidFilterValue(_))
    ));
    let (_d, s) = store();
    let ssm = Ssm::new(s.as_ref());
    let p = put(&ssm, "/app/b/c", "v", false).unwrap();
    let fs = parse_filters(
        &[
            f("Path", Some("Recursive"), &["/app"]),
            f("Name", Some("Contains"), &["b/c"]),
        ],
        Use::Describe,
    )
    .unwrap();
    assert!(fs.iter().all(|x| x.matches(&p)));
    let one = parse_filters(&[f("Path", None, &["/app"])], Use::Describe).unwrap();
    assert!(!one[0].matches(&p));
    assert!(filter::in_path("/app/b", "/app/", false));
}

#[test]
fn allowed_patterns_are_enforced() {
    assert!(names::check_pattern(r"^\d+$", "123").is_ok());
    assert!(matches!(
        names::check_pattern(r"^\d+$", "12a"),
        Err(SsmError::PatternMismatch(p)) if p == r"^\d+$"
    ));
    assert!(matches!(
        names::check_pattern("(", "x"),
        Err(SsmError::InvalidAllowedPattern(_))
    ));
}
