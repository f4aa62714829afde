#![allow(clippy::unwrap_used, clippy::indexing_slicing)]
use super::*;

fn line(ms: i64, text: &str) -> LogLine {
    LogLine {
        nanos: i128::from(ms) * 1_000_000 + 123,
        text: text.to_string(),
    }
}

#[test]
fn stream_names() {
    let s = parse_settings(
        &[("awslogs-group", "g"), ("awslogs-stream-prefix", "p")],
        "us-east-1",
    )
    .unwrap();
    assert_eq!(
        s.stream_name("app", "arn:aws:ecs:us-east-1:1:task/c/abc", "d0"),
        "p/app/abc"
    );
    assert_eq!(s.region, "us-east-1");
    let s = parse_settings(&[("awslogs-group", "g")], "eu-west-1").unwrap();
    assert_eq!(s.stream_name("app", "arn:t/abc", "d0c1"), "d0c1");
    let s = parse_settings(
        &[("awslogs-group", "g"), ("awslogs-region", "us-west-2")],
        "eu-west-1",
    )
    .unwrap();
    assert_eq!(s.region, "us-west-2");
}

#[test]
fn options_are_checked_as_docker_checks_them() {
    assert_eq!(
        parse_settings(&[("awslogs-group", "g"), ("colour", "x")], "r").unwrap_err(),
        "unknown log opt 'colour' for awslogs log driver"
    );
    assert!(
        parse_settings(&[], "r")
            .unwrap_err()
            .contains("awslogs-group")
    );
    assert!(
        parse_settings(
            &[
                ("awslogs-group", "g"),
                ("awslogs-datetime-format", "%Y"),
                ("awslogs-multiline-pattern", "x")
            ],
            "r"
        )
        .unwrap_err()
        .contains("at the same time")
    );
    let s = parse_settings(
        &[
            ("awslogs-group", "g"),
            ("awslogs-create-group", "true"),
            ("mode", "non-blocking"),
            ("max-buffer-size", "4m"),
        ],
        "r",
    )
    .unwrap();
    assert!(s.create_group);
    assert!(parse_settings(&[("awslogs-group", "g"), ("mode", "fast")], "r").is_err());
}

#[test]
fn docker_runs_awslogs_as_json_file_and_other_drivers_as_they_are() {
    let d = docker_driver(Some(&serde_json::json!({
        "logDriver": "awslogs", "options": {"awslogs-group": "g"}
    })))
    .unwrap();
    assert_eq!(d.driver, "json-file");
    assert!(d.options.is_empty());
    let d = docker_driver(Some(&serde_json::json!({
        "logDriver": "json-file", "options": {"max-size": "10m"}
    })))
    .unwrap();
    assert_eq!(d.driver, "json-file");
    assert_eq!(d.options["max-size"], "10m");
    assert!(docker_driver(None).is_none());
}

#[test]
fn datetime_formats_become_patterns() {
    let p = anchored(&datetime_pattern("%Y-%m-%d %H:%M:%S")).unwrap();
    assert!(p.is_match("2026-12-06 04:13:20 started"));
    assert!(!p.is_match("  at frame 2"));
    let p = anchored(&datetime_pattern("\\[%b %d, %Y")).unwrap();
    assert!(p.is_match("[Dec 06, 2026] x"));
}

#[test]
fn lines_group_into_events() {
    let mut g = Grouper::new(None);
    assert_eq!(g.push(&line(5, "a")).len(), 1);
    assert!(g.push(&line(5, "")).is_empty());
    let mut g = Grouper::new(Some(anchored("INFO|ERROR").unwrap()));
    assert!(g.push(&line(1, "INFO one")).is_empty());
    assert!(g.push(&line(2, "  detail")).is_empty());
    let out = g.push(&line(3, "ERROR two"));
    assert_eq!(
        out,
        vec![LogEvent {
            timestamp_ms: 1,
            message: "INFO one\n  detail".into()
        }]
    );
    assert_eq!(g.flush()[0].message, "ERROR two");
    assert!(g.flush().is_empty());
}

#[test]
fn long_messages_are_split() {
    let text = "é".repeat(MAX_MESSAGE_BYTES);
    let parts = split_long(&text);
    assert!(parts.len() >= 2);
    assert!(parts.iter().all(|p| p.len() <= MAX_MESSAGE_BYTES));
    assert_eq!(parts.concat(), text);
}

#[test]
fn the_stream_is_the_checkpoint() {
    // The stream holds events at 10, 20, 20 (two of the three lines at millisecond 20).
    let cursor = Cursor::from_tail(&[10, 20, 20]).unwrap();
    assert_eq!(
        cursor,
        Cursor {
            last_ms: 20,
            at_last: 2
        }
    );
    assert_eq!(cursor.since_secs(), 0);
    let mut r = Resume::after(cursor);
    // Docker's output read again: 10, 20, 20 are already there; the third 20 and 21 are new.
    let kept: Vec<i64> = [10, 20, 20, 20, 21]
        .into_iter()
        .filter(|t| r.is_new(*t))
        .collect();
    assert_eq!(kept, vec![20, 21]);
    assert!(Cursor::from_tail(&[]).is_none());
    let mut c = cursor;
    c.advance(20);
    c.advance(25);
    assert_eq!(
        c,
        Cursor {
            last_ms: 25,
            at_last: 1
        }
    );
    assert_eq!(
        Cursor {
            last_ms: 12_345,
            at_last: 1
        }
        .since_secs(),
        12
    );
}

#[test]
fn batches_keep_aws_limits() {
    let mut b = Batch::default();
    let big = "x".repeat(MAX_MESSAGE_BYTES);
    let mut n = 0;
    loop {
        let e = LogEvent {
            timestamp_ms: 1,
            message: big.clone(),
        };
        if !b.fits(&e) {
            break;
        }
        b.push(e);
        n += 1;
    }
    assert_eq!(n, 4);
    let far = LogEvent {
        timestamp_ms: 1 + MAX_SPAN_MS,
        message: "x".into(),
    };
    let mut b = Batch::default();
    b.push(LogEvent {
        timestamp_ms: 1,
        message: "a".into(),
    });
    assert!(!b.fits(&far));
    b.push(LogEvent {
        timestamp_ms: 0,
        message: "b".into(),
    });
    let out = b.take();
    assert_eq!(out[0].message, "b");
    assert!(b.is_empty());
}
