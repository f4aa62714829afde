"""CloudWatch Logs end to end: log groups, log streams, PutLogEvents' batch rules, GetLogEvents'
and FilterLogEvents' paging, filter patterns, retention, tags and IAM enforcement on AWS's
resource ARNs — with boto3 and the unmodified AWS CLI v1, in AWS's words."""

import json
import time

from conftest import REGION, Creds, error_message
from helpers import allow, expect, raw_client, trust_user, user_creds

ACCOUNT = "000000000000"
GROUP_NOT_FOUND = "The specified log group does not exist."
STREAM_NOT_FOUND = "The specified log stream does not exist."
DAY = 86_400_000


def now_ms():
    return int(time.time() * 1000)


def put(logs, group, stream, events, **kw):
    return logs.put_log_events(
        logGroupName=group, logStreamName=stream,
        logEvents=[{"timestamp": t, "message": m} for t, m in events], **kw,
    )


def test_log_groups_lifecycle_paging_and_errors(berth):
    logs = berth.client("logs")
    logs.create_log_group(logGroupName="/app/web")
    expect(logs.create_log_group, "ResourceAlreadyExistsException",
           "The specified log group already exists", logGroupName="/app/web")
    g = logs.describe_log_groups(logGroupNamePrefix="/app/web")["logGroups"][0]
    assert g["logGroupName"] == "/app/web"
    assert g["arn"] == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/app/web:*"
    assert g["logGroupArn"] == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/app/web"
    assert g["storedBytes"] == 0 and g["metricFilterCount"] == 0 and "retentionInDays" not in g
    assert abs(g["creationTime"] - now_ms()) < 60_000

    for i in range(7):
        logs.create_log_group(logGroupName=f"/page/{i}")
    names, token, pages = [], None, 0
    while True:
        kw = {"logGroupNamePrefix": "/page/", "limit": 3}
        if token:
            kw["nextToken"] = token
        r = logs.describe_log_groups(**kw)
        names += [x["logGroupName"] for x in r["logGroups"]]
        pages += 1
        token = r.get("nextToken")
        if not token:
            break
    assert names == [f"/page/{i}" for i in range(7)] and pages == 3
    got = logs.describe_log_groups(logGroupNamePattern="ge/3")["logGroups"]
    assert [x["logGroupName"] for x in got] == ["/page/3"]
    # The paginator follows the same tokens.
    all_names = [x["logGroupName"] for p in logs.get_paginator("describe_log_groups").paginate(
        PaginationConfig={"PageSize": 2}) for x in p["logGroups"]]
    assert all_names == sorted(all_names) and len(all_names) == 8

    raw = raw_client(berth, "logs")
    expect(raw.describe_log_groups, "InvalidParameterException",
           "1 validation error detected: Value '51' at 'limit' failed to satisfy constraint: "
           "Member must have value less than or equal to 50", limit=51)
    expect(logs.create_log_group, "InvalidParameterException",
           "1 validation error detected: Value 'bad:name' at 'logGroupName' failed to satisfy "
           r"constraint: Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+",
           logGroupName="bad:name")
    expect(raw.create_log_group, "InvalidParameterException", logGroupName="x" * 513)
    expect(raw.describe_log_groups, "InvalidParameterException", nextToken="not-a-token")

    logs.delete_log_group(logGroupName="/app/web")
    expect(logs.delete_log_group, "ResourceNotFoundException", GROUP_NOT_FOUND, logGroupName="/app/web")
    expect(logs.create_log_stream, "ResourceNotFoundException", GROUP_NOT_FOUND,
           logGroupName="/app/web", logStreamName="s")
    # Unknown operations of the service answer as the other JSON services do.
    expect(logs.start_query, "UnknownOperationException", logGroupName="/page/1",
           startTime=0, endTime=1, queryString="fields @message")


def test_log_streams_order_paging_and_errors(berth):
    logs = berth.client("logs")
    logs.create_log_group(logGroupName="g")
    for name in ["b", "a", "c", "d"]:
        logs.create_log_stream(logGroupName="g", logStreamName=name)
    expect(logs.create_log_stream, "ResourceAlreadyExistsException",
           "The specified log stream already exists", logGroupName="g", logStreamName="a")
    expect(logs.create_log_stream, "InvalidParameterException",
           "1 validation error detected: Value 'a:b' at 'logStreamName' failed to satisfy "
           "constraint: Member must satisfy regular expression pattern: [^:*]*",
           logGroupName="g", logStreamName="a:b")
    t = now_ms()
    for i, name in enumerate(["c", "a", "b"]):
        put(logs, "g", name, [(t - 1000 + i, f"event {name}")])

    names, token = [], None
    while True:
        kw = {"logGroupName": "g", "limit": 3}
        if token:
            kw["nextToken"] = token
        r = logs.describe_log_streams(**kw)
        names += [s["logStreamName"] for s in r["logStreams"]]
        token = r.get("nextToken")
        if not token:
            break
    assert names == ["a", "b", "c", "d"]
    r = logs.describe_log_streams(logGroupName="g", orderBy="LastEventTime", descending=True)
    assert [s["logStreamName"] for s in r["logStreams"]] == ["b", "a", "c", "d"]
    s = r["logStreams"][0]
    assert s["arn"] == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:g:log-stream:b"
    assert s["firstEventTimestamp"] == s["lastEventTimestamp"] == t - 998
    assert abs(s["lastIngestionTime"] - now_ms()) < 60_000 and s["storedBytes"] == 0
    assert "firstEventTimestamp" not in r["logStreams"][3]
    r = logs.describe_log_streams(logGroupIdentifier=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:g:*",
                                  logStreamNamePrefix="c")
    assert [s["logStreamName"] for s in r["logStreams"]] == ["c"]
    expect(logs.describe_log_streams, "InvalidParameterException",
           "Cannot order by LastEventTime with a logStreamNamePrefix.",
           logGroupName="g", orderBy="LastEventTime", logStreamNamePrefix="a")
    expect(logs.describe_log_streams, "ResourceNotFoundException", GROUP_NOT_FOUND, logGroupName="nope")

    logs.delete_log_stream(logGroupName="g", logStreamName="a")
    expect(logs.delete_log_stream, "ResourceNotFoundException", STREAM_NOT_FOUND,
           logGroupName="g", logStreamName="a")
    expect(logs.get_log_events, "ResourceNotFoundException", STREAM_NOT_FOUND,
           logGroupName="g", logStreamName="a")
    # Recreated, the stream starts empty: the deleted one's events are gone.
    logs.create_log_stream(logGroupName="g", logStreamName="a")
    assert logs.get_log_events(logGroupName="g", logStreamName="a")["events"] == []
    found = logs.filter_log_events(logGroupName="g")["events"]
    assert sorted(e["logStreamName"] for e in found) == ["b", "c"]


def test_put_log_events_batch_rules(berth):
    logs = berth.client("logs")
    raw = raw_client(berth, "logs")
    logs.create_log_group(logGroupName="g")
    logs.create_log_stream(logGroupName="g", logStreamName="s")
    t = now_ms()
    r = put(logs, "g", "s", [(t, "one"), (t + 1, "two")], sequenceToken="ignored")
    assert len(r["nextSequenceToken"]) == 56 and "rejectedLogEventsInfo" not in r
    expect(logs.put_log_events, "InvalidParameterException",
           "Log events in a single PutLogEvents request must be in chronological order.",
           logGroupName="g", logStreamName="s",
           logEvents=[{"timestamp": t, "message": "b"}, {"timestamp": t - 1, "message": "a"}])
    expect(logs.put_log_events, "InvalidParameterException",
           "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.",
           logGroupName="g", logStreamName="s",
           logEvents=[{"timestamp": t - DAY - 10, "message": "a"}, {"timestamp": t, "message": "b"}])
    expect(raw.put_log_events, "InvalidParameterException", logGroupName="g", logStreamName="s",
           logEvents=[{"timestamp": t, "message": "x"}] * 10_001)
    # 1,048,576 bytes counting 26 per event: exactly at the limit is accepted, one more is not.
    big = [{"timestamp": t + i, "message": "x" * (262_144 - 26)} for i in range(4)]
    logs.put_log_events(logGroupName="g", logStreamName="s", logEvents=big)
    # That batch's body is over 1 MiB: CloudWatch Logs' bodies may be up to 4 MiB, no more.
    status, _, _ = berth.raw(b"{" + b" " * (4 * 1024 * 1024) + b"}", sign=("logs", REGION), headers={
        "X-Amz-Target": "Logs_20140328.PutLogEvents", "Content-Type": "application/x-amz-json-1.1"})
    assert status == 413
    big[3]["message"] += "y"
    e = expect(logs.put_log_events, "InvalidParameterException", logGroupName="g",
               logStreamName="s", logEvents=big)
    assert "1048577" in error_message(e)
    # Too old, too new: refused by index while the rest is stored.
    r = put(logs, "g", "s", [(t - 15 * DAY, "old"), (t + 10, "fine"), (t + 3 * 3_600_000, "new")])
    assert r["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 0, "tooNewLogEventStartIndex": 2}
    got = [e["message"] for e in logs.get_log_events(logGroupName="g", logStreamName="s",
                                                      startFromHead=True, startTime=t + 10, endTime=t + 11)["events"]]
    assert got == ["fine"]
    expect(logs.put_log_events, "ResourceNotFoundException", STREAM_NOT_FOUND,
           logGroupName="g", logStreamName="nope", logEvents=[{"timestamp": t, "message": "m"}])
    expect(logs.put_log_events, "ResourceNotFoundException", GROUP_NOT_FOUND,
           logGroupName="nope", logStreamName="s", logEvents=[{"timestamp": t, "message": "m"}])


def test_get_log_events_pages_both_ways_until_the_token_repeats(berth):
    logs = berth.client("logs")
    logs.create_log_group(logGroupName="g")
    logs.create_log_stream(logGroupName="g", logStreamName="s")
    t = now_ms() - 60_000
    put(logs, "g", "s", [(t + i, f"m{i:03}") for i in range(250)])

    seen, token, pages = [], None, 0
    while True:
        kw = {"logGroupName": "g", "logStreamName": "s", "startFromHead": True, "limit": 100}
        if token:
            kw["nextToken"] = token
        r = logs.get_log_events(**kw)
        assert r["nextForwardToken"].startswith("f/") and r["nextBackwardToken"].startswith("b/")
        seen += [e["message"] for e in r["events"]]
        pages += 1
        if r["nextForwardToken"] == token:
            break
        token = r["nextForwardToken"]
    assert seen == [f"m{i:03}" for i in range(250)] and pages == 4
    assert all(e["ingestionTime"] >= e["timestamp"] for e in r["events"] or [{"ingestionTime": 1, "timestamp": 0}])
    # New events appear behind the last forward token.
    put(logs, "g", "s", [(t + 300, "late")])
    r = logs.get_log_events(logGroupName="g", logStreamName="s", startFromHead=True, nextToken=token)
    assert [e["message"] for e in r["events"]] == ["late"]

    # Backward from the end (the default), newest page first, each page oldest first.
    back, token = [], None
    while True:
        kw = {"logGroupName": "g", "logStreamName": "s", "limit": 100}
        if token:
            kw["nextToken"] = token
        r = logs.get_log_events(**kw)
        if r["nextBackwardToken"] == token:
            assert r["events"] == []
            break
        page = [e["message"] for e in r["events"]]
        assert [e["timestamp"] for e in r["events"]] == sorted(e["timestamp"] for e in r["events"])
        back = page + back
        token = r["nextBackwardToken"]
    assert back == [f"m{i:03}" for i in range(250)] + ["late"]
    # A time range: startTime inclusive, endTime exclusive.
    r = logs.get_log_events(logGroupName="g", logStreamName="s", startTime=t + 10, endTime=t + 13)
    assert [e["message"] for e in r["events"]] == ["m010", "m011", "m012"]
    expect(raw_client(berth, "logs").get_log_events, "InvalidParameterException",
           logGroupName="g", logStreamName="s", limit=10_001)
    expect(logs.get_log_events, "InvalidParameterException", logGroupName="g",
           logStreamName="s", nextToken="garbage")


def test_filter_log_events_patterns_interleaving_and_paging(berth):
    logs = berth.client("logs")
    logs.create_log_group(logGroupName="g")
    for s in ["web-1", "web-2", "worker"]:
        logs.create_log_stream(logGroupName="g", logStreamName=s)
    t = now_ms() - 60_000
    for i in range(30):
        level = ["ERROR", "WARN", "INFO"][i % 3]
        put(logs, "g", "web-1", [(t + 2 * i, f"{level} web-1 request {i}")])
        put(logs, "g", "web-2", [(t + 2 * i + 1, f"{level} web-2 request {i}")])
    put(logs, "g", "worker", [(t, "ERROR worker disk full"), (t + 5, "Exiting now")])

    def all_events(**kw):
        out, token = [], None
        while True:
            if token:
                kw["nextToken"] = token
            r = logs.filter_log_events(logGroupName="g", **kw)
            out += r["events"]
            token = r.get("nextToken")
            if not token:
                return out

    events = all_events(limit=7, logStreamNamePrefix="web-")
    assert len(events) == 60
    paged = [e["eventId"] for p in logs.get_paginator("filter_log_events").paginate(
        logGroupName="g", logStreamNamePrefix="web-", PaginationConfig={"PageSize": 11}) for e in p["events"]]
    assert paged == [e["eventId"] for e in events]
    assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)
    assert events[0]["logStreamName"] == "web-1" and events[1]["logStreamName"] == "web-2"
    assert len({e["eventId"] for e in events}) == 60
    assert all(len(e["eventId"]) == 56 for e in events)
    assert len(all_events(filterPattern="ERROR")) == 21
    assert len(all_events(filterPattern="ERROR web-2")) == 10
    assert len(all_events(filterPattern="?WARN ?Exiting")) == 21
    assert [e["message"] for e in all_events(filterPattern='"disk full"')] == ["ERROR worker disk full"]
    assert len(all_events(filterPattern="ERROR -web")) == 1
    assert len(all_events(filterPattern="error")) == 0  # terms are case-sensitive
    r = logs.filter_log_events(logGroupName="g", logStreamNames=["worker"], startTime=t + 1, endTime=t + 5)
    assert [e["message"] for e in r["events"]] == ["Exiting now"]  # endTime is inclusive here
    assert r["searchedLogStreams"] == [{"logStreamName": "worker", "searchedCompletely": True}]
    expect(logs.filter_log_events, "InvalidParameterException", logGroupName="g",
           filterPattern='{ $.level = "error" }')
    expect(logs.filter_log_events, "InvalidParameterException", logGroupName="g",
           logStreamNames=["web-1"], logStreamNamePrefix="web")
    expect(logs.filter_log_events, "ResourceNotFoundException", GROUP_NOT_FOUND, logGroupName="nope")


def test_tail_follow_as_cli_v2_does(berth):
    """The AWS CLI here is v1, which has no `logs tail`; this is CLI v2's `tail --follow` loop
    (FollowLogEventsGenerator): FilterLogEvents with startTime and interleaved, following
    nextToken, and when there is none, polling again from the newest timestamp seen, skipping
    event ids already shown."""
    code, _, err = berth.aws("logs", "tail", "g")
    assert code != 0 and "Invalid choice" in err
    logs = berth.client("logs")
    logs.create_log_group(logGroupName="g")
    logs.create_log_stream(logGroupName="g", logStreamName="a")
    logs.create_log_stream(logGroupName="g", logStreamName="b")
    start = now_ms() - 1000
    kwargs = {"logGroupName": "g", "interleaved": True, "startTime": start}
    seen_by_ts = {}
    shown = []

    def poll():
        nonlocal seen_by_ts
        while True:
            r = logs.filter_log_events(**kwargs)
            for e in r["events"]:
                ids = seen_by_ts.setdefault(e["timestamp"], set())
                if e["eventId"] not in ids:
                    ids.add(e["eventId"])
                    shown.append(e["message"])
            if seen_by_ts:
                newest = max(seen_by_ts)
                seen_by_ts = {newest: seen_by_ts[newest]}
            if "nextToken" in r:
                kwargs["nextToken"] = r["nextToken"]
            else:
                if seen_by_ts:
                    kwargs["startTime"] = max(seen_by_ts)
                kwargs.pop("nextToken", None)
                return

    ts = now_ms()
    put(logs, "g", "a", [(ts, "a1"), (ts + 1, "a2")])
    put(logs, "g", "b", [(ts + 1, "b1")])
    poll()
    assert shown == ["a1", "a2", "b1"]
    put(logs, "g", "a", [(ts + 1, "a3"), (ts + 2, "a4")])
    poll()
    poll()
    assert shown == ["a1", "a2", "b1", "a3", "a4"]


def test_retention_policy_hides_old_events(berth):
    logs = berth.client("logs")
    logs.create_log_group(logGroupName="g")
    logs.create_log_stream(logGroupName="g", logStreamName="s")
    t = now_ms()
    put(logs, "g", "s", [(t - 3 * DAY, "three days old"), (t - 3 * DAY + 1, "also old")])
    put(logs, "g", "s", [(t - 1000, "recent")])
    assert len(logs.get_log_events(logGroupName="g", logStreamName="s")["events"]) == 3
    expect(logs.put_retention_policy, "InvalidParameterException",
           "1 validation error detected: Value '2' at 'retentionInDays' failed to satisfy constraint: "
           "Member must satisfy enum value set: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, "
           "545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]",
           logGroupName="g", retentionInDays=2)
    expect(logs.put_retention_policy, "ResourceNotFoundException", GROUP_NOT_FOUND,
           logGroupName="nope", retentionInDays=1)
    logs.put_retention_policy(logGroupName="g", retentionInDays=1)
    assert logs.describe_log_groups(logGroupNamePrefix="g")["logGroups"][0]["retentionInDays"] == 1
    got = logs.get_log_events(logGroupName="g", logStreamName="s", startFromHead=True)["events"]
    assert [e["message"] for e in got] == ["recent"]
    assert [e["message"] for e in logs.filter_log_events(logGroupName="g")["events"]] == ["recent"]
    # An event older than the retention is refused as expired.
    r = put(logs, "g", "s", [(t - 2 * DAY, "expired"), (t, "kept")])
    assert r["rejectedLogEventsInfo"] == {"expiredLogEventEndIndex": 0}
    stored = logs.describe_log_groups(logGroupNamePrefix="g")["logGroups"][0]["storedBytes"]
    assert stored == len("recent") + len("kept")
    logs.delete_retention_policy(logGroupName="g")
    assert "retentionInDays" not in logs.describe_log_groups(logGroupNamePrefix="g")["logGroups"][0]


def test_tags_by_arn_and_by_name(berth):
    logs = berth.client("logs")
    logs.create_log_group(logGroupName="g", tags={"team": "a"})
    arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:g"
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "a"}
    logs.tag_resource(resourceArn=arn, tags={"env": "dev"})
    logs.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert logs.list_tags_for_resource(resourceArn=arn + ":*")["tags"] == {"env": "dev"}
    logs.tag_log_group(logGroupName="g", tags={"x": "1"})
    logs.untag_log_group(logGroupName="g", tags=["env"])
    assert logs.list_tags_log_group(logGroupName="g")["tags"] == {"x": "1"}
    expect(logs.list_tags_for_resource, "ResourceNotFoundException", GROUP_NOT_FOUND,
           resourceArn=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:nope")


def test_iam_enforcement_on_aws_resource_arns(berth):
    logs = berth.client("logs")
    logs.create_log_group(logGroupName="app")
    for s in ["mine", "other"]:
        logs.create_log_stream(logGroupName="app", logStreamName=s)
    mine = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:app:log-stream:mine"
    creds = user_creds(berth, "writer", allow(["logs:PutLogEvents", "logs:GetLogEvents"], mine))
    w = berth.client("logs", creds=creds)
    t = now_ms()
    w.put_log_events(logGroupName="app", logStreamName="mine", logEvents=[{"timestamp": t, "message": "ok"}])
    assert [e["message"] for e in w.get_log_events(logGroupName="app", logStreamName="mine")["events"]] == ["ok"]
    expect(w.put_log_events, "AccessDeniedException",
           f"User: arn:aws:iam::{ACCOUNT}:user/writer is not authorized to perform: logs:PutLogEvents "
           f"on resource: arn:aws:logs:{REGION}:{ACCOUNT}:log-group:app:log-stream:other because no "
           "identity-based policy allows the logs:PutLogEvents action",
           logGroupName="app", logStreamName="other", logEvents=[{"timestamp": t, "message": "no"}])
    expect(w.create_log_group, "AccessDeniedException",
           f"User: arn:aws:iam::{ACCOUNT}:user/writer is not authorized to perform: logs:CreateLogGroup "
           f"on resource: arn:aws:logs:{REGION}:{ACCOUNT}:log-group:new:log-stream: because no "
           "identity-based policy allows the logs:CreateLogGroup action",
           logGroupName="new")
    e = expect(w.describe_log_groups, "AccessDeniedException")
    assert f"log-group::log-stream: because" in error_message(e)
    # Denied before anything is read: a missing group is not revealed.
    expect(w.put_log_events, "AccessDeniedException", logGroupName="nope", logStreamName="mine",
           logEvents=[{"timestamp": t, "message": "no"}])
    # The usual policy shape, `log-group:<name>:*`, covers the group's actions and its streams'.
    creds = user_creds(berth, "owner", allow(["logs:*"], f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:own:*"))
    o = berth.client("logs", creds=creds)
    o.create_log_group(logGroupName="own")
    o.create_log_stream(logGroupName="own", logStreamName="s")
    o.put_log_events(logGroupName="own", logStreamName="s", logEvents=[{"timestamp": t, "message": "x"}])
    assert len(o.filter_log_events(logGroupName="own")["events"]) == 1
    o.put_retention_policy(logGroupName="own", retentionInDays=7)
    expect(o.filter_log_events, "AccessDeniedException", logGroupName="app")
    # CreateLogGroup with tags also needs logs:TagResource, in AWS's words.
    creds = user_creds(berth, "tagless", allow(["logs:CreateLogGroup"]))
    expect(berth.client("logs", creds=creds).create_log_group, "AccessDeniedException",
           f"User with accountId: {ACCOUNT} is not authorized to perform CreateLogGroup with Tags. "
           'An additional permission "logs:TagResource" is required.',
           logGroupName="tagged", tags={"a": "b"})


def test_execution_role_session_as_the_awslogs_driver_uses_it(berth):
    """The ECS awslogs driver's calls, signed with a role session's temporary credentials: it
    creates the group and stream (tolerating ResourceAlreadyExistsException), writes batches,
    and a reader follows nextForwardToken."""
    iam = berth.client("iam")
    agent = user_creds(berth, "agent", allow("sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/exec"))
    iam.create_role(RoleName="exec", AssumeRolePolicyDocument=json.dumps(trust_user(f"arn:aws:iam::{ACCOUNT}:user/agent")))
    iam.put_role_policy(RoleName="exec", PolicyName="logs", PolicyDocument=json.dumps(allow(
        ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:GetLogEvents"],
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/app:*")))
    sts = berth.client("sts", creds=agent)
    c = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/exec", RoleSessionName="task-1")["Credentials"]
    logs = berth.client("logs", creds=Creds(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]))
    logs.create_log_group(logGroupName="/ecs/app")
    expect(logs.create_log_group, "ResourceAlreadyExistsException", logGroupName="/ecs/app")
    logs.create_log_stream(logGroupName="/ecs/app", logStreamName="ecs/web/task-1")
    t = now_ms()
    put(logs, "/ecs/app", "ecs/web/task-1", [(t, "line 1"), (t, "line 2")])
    r = logs.get_log_events(logGroupName="/ecs/app", logStreamName="ecs/web/task-1", startFromHead=True)
    assert [e["message"] for e in r["events"]] == ["line 1", "line 2"]
    put(logs, "/ecs/app", "ecs/web/task-1", [(t + 5, "line 3")])
    r = logs.get_log_events(logGroupName="/ecs/app", logStreamName="ecs/web/task-1", startFromHead=True,
                            nextToken=r["nextForwardToken"])
    assert [e["message"] for e in r["events"]] == ["line 3"]
    expect(logs.put_log_events, "AccessDeniedException",
           f"User: arn:aws:sts::{ACCOUNT}:assumed-role/exec/task-1 is not authorized to perform: "
           f"logs:PutLogEvents on resource: arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/other:log-stream:s "
           "because no identity-based policy allows the logs:PutLogEvents action",
           logGroupName="/ecs/other", logStreamName="s", logEvents=[{"timestamp": t, "message": "x"}])


def test_cli_v1_round_trip(berth):
    berth.aws("logs", "create-log-group", "--log-group-name", "cli", check=True)
    berth.aws("logs", "create-log-stream", "--log-group-name", "cli", "--log-stream-name", "s", check=True)
    t = now_ms()
    events = json.dumps([{"timestamp": t, "message": "hello from the cli"}, {"timestamp": t + 1, "message": "bye"}])
    _, out, _ = berth.aws("logs", "put-log-events", "--log-group-name", "cli", "--log-stream-name", "s",
                          "--log-events", events, check=True)
    assert len(json.loads(out)["nextSequenceToken"]) == 56
    _, out, _ = berth.aws("logs", "get-log-events", "--log-group-name", "cli", "--log-stream-name", "s",
                          "--start-from-head", check=True)
    assert [e["message"] for e in json.loads(out)["events"]] == ["hello from the cli", "bye"]
    _, out, _ = berth.aws("logs", "filter-log-events", "--log-group-name", "cli", "--filter-pattern", "hello",
                          check=True)
    assert [e["message"] for e in json.loads(out)["events"]] == ["hello from the cli"]
    _, out, _ = berth.aws("logs", "describe-log-groups", check=True)
    assert [g["logGroupName"] for g in json.loads(out)["logGroups"]] == ["cli"]
    code, _, err = berth.aws("logs", "describe-log-streams", "--log-group-name", "nope")
    assert code == 255 and "ResourceNotFoundException" in err and GROUP_NOT_FOUND in err
