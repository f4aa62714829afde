#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use berth_store::SqliteStore;

use super::*;

const NOW: u64 = 1_800_000_000_000;
const A: &str = "111122223333";
const R: &str = "us-east-1";

fn setup(store: &SqliteStore) -> (Logs<'_>, Group, Stream) {
    let logs = Logs::new(store);
    let g = logs.create_group(A, R, "g", BTreeMap::new(), NOW).unwrap();
    let s = logs.create_stream(A, R, "g", "s", NOW).unwrap();
    (logs, g, s)
}

fn batch(start: u64, n: usize) -> Vec<(u64, String)> {
    (0..n)
        .map(|i| (start + i as u64, format!("m{i}")))
        .collect()
}

#[test]
fn groups_and_streams_exist_once() {
    let store = SqliteStore::in_memory().unwrap();
    let (logs, g, _) = setup(&store);
    assert!(matches!(
        logs.create_group(A, R, "g", BTreeMap::new(), NOW),
        Err(LogsError::GroupExists)
    ));
    assert!(matches!(
        logs.create_stream(A, R, "g", "s", NOW),
        Err(LogsError::StreamExists)
    ));
    assert!(matches!(
        logs.create_stream(A, R, "nope", "s", NOW),
        Err(LogsError::GroupNotFound)
    ));
    assert_eq!(g.arn(), "arn:aws:logs:us-east-1:111122223333:log-group:g");
    // Another region is another namespace.
    assert!(matches!(
        logs.group(A, "eu-west-1", "g"),
        Err(LogsError::GroupNotFound)
    ));
}

#[test]
fn batch_rules() {
    assert!(check_batch(&[]).is_err());
    assert!(check_batch(&batch(NOW, MAX_BATCH_EVENTS)).is_ok());
    assert!(check_batch(&batch(NOW, MAX_BATCH_EVENTS + 1)).is_err());
    let e = check_batch(&[(2, "a".into()), (1, "b".into())]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Log events in a single PutLogEvents request must be in chronological order."
    );
    assert!(check_batch(&[(1, String::new())]).is_err());
    // 1,048,576 bytes exactly is allowed; one more is not.
    let exact = vec![(1, "x".repeat(MAX_BATCH_BYTES - EVENT_OVERHEAD))];
    assert!(check_batch(&exact).is_ok());
    let over = vec![(1, "x".repeat(MAX_BATCH_BYTES - EVENT_OVERHEAD + 1))];
    assert!(check_batch(&over).is_err());
}

#[test]
fn put_rejects_old_new_expired_and_long_spans() {
    let store = SqliteStore::in_memory().unwrap();
    let (logs, _, _) = setup(&store);
    logs.update_group(A, R, "g", |g| {
        g.retention_days = Some(1);
        Ok(())
    })
    .unwrap();
    let events = vec![
        (NOW - 15 * DAY_MS, "too old".to_string()),
        (NOW - 2 * DAY_MS, "expired".to_string()),
        (NOW, "ok".to_string()),
        (NOW + 3 * 3_600_000, "too new".to_string()),
    ];
    let out = logs.put_events(A, R, "g", "s", &events, NOW).unwrap();
    assert_eq!(
        out.rejected,
        Rejected {
            too_new_start: Some(3),
            too_old_end: Some(0),
            expired_end: Some(1)
        }
    );
    assert_eq!(out.next_sequence_token.len(), 56);
    let span = vec![(NOW - DAY_MS - 1, "a".to_string()), (NOW, "b".to_string())];
    logs.update_group(A, R, "g", |g| {
        g.retention_days = None;
        Ok(())
    })
    .unwrap();
    assert!(logs.put_events(A, R, "g", "s", &span, NOW).is_err());
    let g = logs.group(A, R, "g").unwrap();
    let s = logs.stream(&g, "s").unwrap();
    assert_eq!(
        (s.first_event, s.last_event, s.last_ingestion),
        (Some(NOW), Some(NOW), Some(NOW))
    );
    assert_eq!(g.stored_bytes, 2);
}

#[test]
fn get_events_pages_forward_and_backward_until_the_token_repeats() {
    let store = SqliteStore::in_memory().unwrap();
    let (logs, g, _) = setup(&store);
    logs.put_events(A, R, "g", "s", &batch(NOW - 1000, 25), NOW)
        .unwrap();
    let s = logs.stream(&g, "s").unwrap();
    // Forward from the head, 10 at a time.
    let mut q = GetQuery {
        from_head: true,
        limit: Some(10),
        ..Default::default()
    };
    let mut seen = Vec::new();
    loop {
        let page = logs.get_events(&g, &s, &q, NOW).unwrap();
        seen.extend(page.events.iter().map(|e| e.message.clone()));
        if Some(page.forward) == q.token {
            break;
        }
        q.token = Some(page.forward);
    }
    assert_eq!(seen, (0..25).map(|i| format!("m{i}")).collect::<Vec<_>>());
    // New events appear behind the last forward token.
    logs.put_events(A, R, "g", "s", &batch(NOW, 2), NOW)
        .unwrap();
    let page = logs.get_events(&g, &s, &q, NOW).unwrap();
    assert_eq!(page.events.len(), 2);
    // Backward from the tail.
    let mut q = GetQuery {
        limit: Some(7),
        ..Default::default()
    };
    let mut pages = Vec::new();
    loop {
        let page = logs.get_events(&g, &s, &q, NOW).unwrap();
        let messages: Vec<String> = page.events.iter().map(|e| e.message.clone()).collect();
        if Some(page.backward) == q.token {
            assert!(messages.is_empty());
            break;
        }
        pages.push(messages);
        q.token = Some(page.backward);
    }
    assert_eq!(pages.len(), 4);
    assert_eq!(pages[0].last().unwrap(), "m1"); // the newest: the second batch's m1
    assert_eq!(pages[3], vec!["m0", "m1", "m2", "m3", "m4", "m5"]);
    // Tokens have AWS's shape.
    let t = Token::Forward(5).to_string();
    assert!(t.starts_with("f/") && t.ends_with("/s") && t.len() == 60);
    assert_eq!(Token::parse(&t).unwrap(), Token::Forward(5));
    assert!(Token::parse("x/1/s").is_err());
}

#[test]
fn get_events_time_range_and_page_bytes() {
    let store = SqliteStore::in_memory().unwrap();
    let (logs, g, _) = setup(&store);
    logs.put_events(A, R, "g", "s", &batch(NOW - 100, 10), NOW)
        .unwrap();
    let s = logs.stream(&g, "s").unwrap();
    let q = GetQuery {
        start: Some(NOW - 97),
        end: Some(NOW - 93),
        from_head: true,
        ..Default::default()
    };
    let page = logs.get_events(&g, &s, &q, NOW).unwrap();
    let ts: Vec<u64> = page.events.iter().map(|e| NOW - e.timestamp).collect();
    assert_eq!(ts, vec![97, 96, 95, 94]); // endTime is exclusive
    let big = "x".repeat(400_000);
    let events: Vec<(u64, String)> = (0..3).map(|i| (NOW + i, big.clone())).collect();
    logs.put_events(A, R, "g", "s", &events, NOW).unwrap();
    let q = GetQuery {
        start: Some(NOW),
        from_head: true,
        ..Default::default()
    };
    let page = logs.get_events(&g, &s, &q, NOW).unwrap();
    assert_eq!(page.events.len(), 2, "a page holds at most 1 MB");
}

#[test]
fn retention_hides_then_removes_old_events() {
    let store = SqliteStore::in_memory().unwrap();
    let (logs, _, _) = setup(&store);
    let old = vec![(NOW - 3 * DAY_MS, "old".to_string())];
    logs.put_events(A, R, "g", "s", &old, NOW).unwrap();
    logs.put_events(A, R, "g", "s", &[(NOW, "new".to_string())], NOW)
        .unwrap();
    let g = logs
        .update_group(A, R, "g", |g| {
            g.retention_days = Some(1);
            Ok(())
        })
        .unwrap();
    let s = logs.stream(&g, "s").unwrap();
    let q = GetQuery {
        from_head: true,
        ..Default::default()
    };
    let page = logs.get_events(&g, &s, &q, NOW).unwrap();
    assert_eq!(
        page.events
            .iter()
            .map(|e| e.message.as_str())
            .collect::<Vec<_>>(),
        ["new"]
    );
    let page = logs
        .filter_events(&g, &FilterQuery::default(), NOW)
        .unwrap();
    assert_eq!(page.events.len(), 1);
    // The next write removes it from the store.
    logs.put_events(A, R, "g", "s", &[(NOW, "again".to_string())], NOW)
        .unwrap();
    let rows = store.read(|tx| tx.scan(EVENTS, "")).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(logs.group(A, R, "g").unwrap().stored_bytes, 8);
}

#[test]
fn filter_interleaves_streams_and_pages() {
    let store = SqliteStore::in_memory().unwrap();
    let (logs, g, _) = setup(&store);
    logs.create_stream(A, R, "g", "t", NOW).unwrap();
    logs.create_stream(A, R, "g", "u", NOW).unwrap();
    for i in 0..10u64 {
        let msg = if i % 2 == 0 { "ERROR even" } else { "INFO odd" };
        logs.put_events(A, R, "g", "s", &[(NOW + 2 * i, format!("{msg} s{i}"))], NOW)
            .unwrap();
        logs.put_events(
            A,
            R,
            "g",
            "t",
            &[(NOW + 2 * i + 1, format!("{msg} t{i}"))],
            NOW,
        )
        .unwrap();
    }
    logs.put_events(A, R, "g", "u", &[(NOW, "ERROR u".into())], NOW)
        .unwrap();
    let mut q = FilterQuery {
        limit: Some(3),
        stream_names: Some(vec!["s".into(), "t".into()]),
        ..Default::default()
    };
    let mut all = Vec::new();
    loop {
        let page = logs.filter_events(&g, &q, NOW).unwrap();
        all.extend(page.events);
        match page.next_token {
            Some(t) => q.token = Some(t),
            None => break,
        }
    }
    assert_eq!(all.len(), 20);
    assert!(all.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
    assert_eq!(all[0].stream, "s");
    assert_eq!(all[1].stream, "t");
    let ids: std::collections::HashSet<_> = all.iter().map(|e| e.event_id.clone()).collect();
    assert_eq!(ids.len(), 20);
    let q = FilterQuery {
        pattern: Pattern::parse("ERROR -t").unwrap(),
        start: Some(NOW + 4),
        end: Some(NOW + 8),
        ..Default::default()
    };
    let page = logs.filter_events(&g, &q, NOW).unwrap();
    let m: Vec<_> = page.events.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(m, ["ERROR even s2", "ERROR even s4"]); // endTime is inclusive here
    let q = FilterQuery {
        stream_prefix: Some("u".into()),
        ..Default::default()
    };
    assert_eq!(logs.filter_events(&g, &q, NOW).unwrap().events.len(), 1);
    assert!(
        logs.filter_events(
            &g,
            &FilterQuery {
                token: Some("zz".into()),
                ..Default::default()
            },
            NOW
        )
        .is_err()
    );
}

#[test]
fn streams_list_by_name_and_last_event() {
    let store = SqliteStore::in_memory().unwrap();
    let (logs, g, _) = setup(&store);
    for (i, n) in ["b", "a", "c"].iter().enumerate() {
        logs.create_stream(A, R, "g", n, NOW).unwrap();
        logs.put_events(A, R, "g", n, &[(NOW - 10 + i as u64, "x".into())], NOW)
            .unwrap();
    }
    let names = |q: &StreamQuery| -> (Vec<String>, Option<String>) {
        let (v, t) = logs.list_streams(&g, q).unwrap();
        (v.into_iter().map(|s| s.name).collect(), t)
    };
    let (page, token) = names(&StreamQuery {
        limit: 2,
        ..Default::default()
    });
    assert_eq!(page, ["a", "b"]);
    let (page, token) = names(&StreamQuery {
        limit: 2,
        token,
        ..Default::default()
    });
    assert_eq!(
        (page, token),
        (vec!["c".to_string(), "s".to_string()], None)
    );
    let (page, _) = names(&StreamQuery {
        by_last_event: true,
        descending: true,
        limit: 3,
        ..Default::default()
    });
    assert_eq!(page, ["c", "a", "b"]);
    let (page, _) = names(&StreamQuery {
        by_last_event: true,
        limit: 1,
        ..Default::default()
    });
    assert_eq!(page, ["s"]); // no events yet: first
    let (page, _) = names(&StreamQuery {
        prefix: Some("c".into()),
        limit: 50,
        ..Default::default()
    });
    assert_eq!(page, ["c"]);
}

#[test]
fn groups_list_with_prefix_pattern_and_tokens() {
    let store = SqliteStore::in_memory().unwrap();
    let logs = Logs::new(&store);
    for n in ["/app/a", "/app/b", "/web/a", "other"] {
        logs.create_group(A, R, n, BTreeMap::new(), NOW).unwrap();
    }
    let (page, token) = logs.list_groups(A, R, None, None, None, 3).unwrap();
    assert_eq!(
        page.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(),
        ["/app/a", "/app/b", "/web/a"]
    );
    let (page, token) = logs
        .list_groups(A, R, None, None, token.as_deref(), 3)
        .unwrap();
    assert_eq!((page.len(), token), (1, None));
    let (page, _) = logs
        .list_groups(A, R, Some("/app"), None, None, 50)
        .unwrap();
    assert_eq!(page.len(), 2);
    let (page, _) = logs.list_groups(A, R, None, Some("web"), None, 50).unwrap();
    assert_eq!(page.len(), 1);
    assert!(logs.list_groups(A, R, None, None, Some("zz"), 3).is_err());
}

#[test]
fn deleting_removes_events_in_bounded_sweeps() {
    let store = SqliteStore::in_memory().unwrap();
    let (logs, _, _) = setup(&store);
    logs.put_events(A, R, "g", "s", &batch(NOW - 100, 50), NOW)
        .unwrap();
    logs.delete_stream(A, R, "g", "s").unwrap();
    // Recreated, it is empty.
    let s = logs.create_stream(A, R, "g", "s", NOW).unwrap();
    let g = logs.group(A, R, "g").unwrap();
    let page = logs.get_events(&g, &s, &GetQuery::default(), NOW).unwrap();
    assert!(page.events.is_empty());
    assert!(
        logs.filter_events(&g, &FilterQuery::default(), NOW)
            .unwrap()
            .events
            .is_empty()
    );
    assert!(logs.has_garbage().unwrap());
    assert_eq!(logs.sweep(20).unwrap(), 20);
    while logs.sweep(20).unwrap() > 0 {}
    assert!(!logs.has_garbage().unwrap());
    assert!(store.read(|tx| tx.scan(EVENTS, "")).unwrap().is_empty());
    assert!(store.read(|tx| tx.scan(GROUP_TIME, "")).unwrap().is_empty());
    logs.put_events(A, R, "g", "s", &batch(NOW, 5), NOW)
        .unwrap();
    logs.delete_group(A, R, "g").unwrap();
    while logs.sweep(3).unwrap() > 0 {}
    assert!(store.read(|tx| tx.scan(STREAMS, "")).unwrap().is_empty());
    assert!(store.read(|tx| tx.scan(EVENTS, "")).unwrap().is_empty());
    assert!(!logs.has_garbage().unwrap());
}

#[test]
fn names_are_validated_in_aws_words() {
    assert!(validate_group_name("logGroupName", "/aws/ecs/app-1_#.x").is_ok());
    let e = validate_group_name("logGroupName", "bad:name").unwrap_err();
    assert_eq!(
        e.to_string(),
        r"1 validation error detected: Value 'bad:name' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+"
    );
    assert!(validate_group_name("logGroupName", &"a".repeat(513)).is_err());
    assert!(validate_stream_name("logStreamName", "ecs/web/0123 é").is_ok());
    assert!(validate_stream_name("logStreamName", "a*b").is_err());
    assert!(validate_stream_name("logStreamName", "a:b").is_err());
    assert_eq!(validate_retention(14).unwrap(), 14);
    assert!(
        validate_retention(2)
            .unwrap_err()
            .to_string()
            .contains("enum value set: [1, 3, 5")
    );
}

#[test]
fn filter_merges_streams_in_order_across_pages() {
    let store = SqliteStore::in_memory().unwrap();
    let (logs, g, _) = setup(&store);
    for name in ["b", "c", "gone"] {
        logs.create_stream(A, R, "g", name, NOW).unwrap();
    }
    let t = NOW - 10_000;
    // Equal timestamps across streams, several events a millisecond in one stream.
    logs.put_events(
        A,
        R,
        "g",
        "s",
        &[(t, "s0".into()), (t, "s1".into()), (t + 2, "s2".into())],
        NOW,
    )
    .unwrap();
    logs.put_events(
        A,
        R,
        "g",
        "b",
        &[(t, "b0".into()), (t + 1, "b1".into()), (t + 2, "b2".into())],
        NOW,
    )
    .unwrap();
    logs.put_events(
        A,
        R,
        "g",
        "c",
        &[(t + 1, "c0".into()), (t + 3, "c1".into())],
        NOW,
    )
    .unwrap();
    logs.put_events(A, R, "g", "gone", &[(t + 1, "x".into())], NOW)
        .unwrap();
    logs.delete_stream(A, R, "g", "gone").unwrap();
    let all: Vec<(u64, String)> = logs
        .filter_events(&g, &FilterQuery::default(), NOW)
        .unwrap()
        .events
        .into_iter()
        .map(|e| (e.timestamp, e.message))
        .collect();
    // Time order; at one time, stream creation order (ids), then the stream's own order.
    let want: Vec<(u64, String)> = [
        (t, "s0"),
        (t, "s1"),
        (t, "b0"),
        (t + 1, "b1"),
        (t + 1, "c0"),
        (t + 2, "s2"),
        (t + 2, "b2"),
        (t + 3, "c1"),
    ]
    .iter()
    .map(|(ts, m)| (*ts, m.to_string()))
    .collect();
    assert_eq!(all, want);
    for limit in 1..=8 {
        let mut got = Vec::new();
        let mut token = None;
        loop {
            let q = FilterQuery {
                limit: Some(limit),
                token: token.clone(),
                ..FilterQuery::default()
            };
            let page = logs.filter_events(&g, &q, NOW).unwrap();
            got.extend(page.events.into_iter().map(|e| (e.timestamp, e.message)));
            match page.next_token {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        assert_eq!(got, want, "limit {limit}");
    }
    // A time range and a pattern.
    let q = FilterQuery {
        start: Some(t + 1),
        end: Some(t + 2),
        pattern: Pattern::parse("b").unwrap(),
        ..FilterQuery::default()
    };
    let got: Vec<String> = logs
        .filter_events(&g, &q, NOW)
        .unwrap()
        .events
        .into_iter()
        .map(|e| e.message)
        .collect();
    assert_eq!(got, ["b1", "b2"]);
}

/// `cargo test -p berth-logs --release -- --ignored --nocapture put_rate`: PutLogEvents'
/// storage cost, 1,000-event batches into a file-backed store.
#[test]
#[ignore]
fn put_rate() {
    let dir = std::env::temp_dir().join(format!("berth-logs-rate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = SqliteStore::open(&dir.join("b.db")).unwrap();
    let (logs, _, _) = setup(&store);
    let started = std::time::Instant::now();
    let batches = 100;
    for b in 0..batches {
        logs.put_events(
            A,
            R,
            "g",
            "s",
            &batch(NOW - 3_600_000 + b * 1000, 1000),
            NOW,
        )
        .unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    println!("{:.0} events/s", (batches * 1000) as f64 / secs);
    std::fs::remove_dir_all(&dir).unwrap();
}
