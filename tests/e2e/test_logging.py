"""`--log-format json` (or `BERTH_LOG_FORMAT=json`): every line the server writes to standard
error is a JSON object with `level`, `target` and the event's `fields` (its `message` and the
structured values, e.g. `request refused` with `principal`, `code` and `status`); and no secret —
a secret's value, a secret access key — appears anywhere in the log."""

import base64
import json

import pytest
from botocore.exceptions import ClientError

from conftest import ROOT_SECRET, Creds, error_code
from helpers import allow, user_creds

SECRET_VALUE = "s3cr3t-Value-That-Must-Not-Be-Logged-7f3a9c"
SECRET_VALUE_2 = "an0ther-Secret-Value-Never-In-The-Log-41d2"
SECRET_BINARY = b"binary-secret-bytes-never-logged-99e1"


def json_lines(log: str):
    lines = [line for line in log.splitlines() if line.strip()]
    assert lines, "the server logged nothing"
    events = []
    for line in lines:
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise AssertionError(f"a log line is not JSON ({e}): {line!r}\nfull log:\n{log}") from None
        assert isinstance(obj, dict), line
        events.append(obj)
    return events


def check_shape(events):
    for ev in events:
        assert ev.get("level") in {"TRACE", "DEBUG", "INFO", "WARN", "ERROR"}, ev
        assert isinstance(ev.get("target"), str) and ev["target"], ev
        assert isinstance(ev.get("fields"), dict), ev
        assert "message" in ev["fields"], ev
        assert "timestamp" in ev, ev


def exercise(berth):
    """Secrets written and read, a user's key used for an allowed and a refused call. Returns
    the user's credentials (their secret access key must not be logged either)."""
    sm = berth.client("secretsmanager")
    sm.create_secret(Name="app/db", SecretString=SECRET_VALUE)
    assert sm.get_secret_value(SecretId="app/db")["SecretString"] == SECRET_VALUE
    sm.put_secret_value(SecretId="app/db", SecretString=SECRET_VALUE_2)
    sm.create_secret(Name="app/bin", SecretBinary=SECRET_BINARY)
    assert sm.get_secret_value(SecretId="app/bin")["SecretBinary"] == SECRET_BINARY
    # The AWS CLI too (its own request shapes and headers).
    rc, out, err = berth.aws("secretsmanager", "get-secret-value", "--secret-id", "app/db", check=True)
    assert json.loads(out)["SecretString"] == SECRET_VALUE_2

    creds = user_creds(berth, "reader", allow(["secretsmanager:DescribeSecret"]))
    user_sm = berth.client("secretsmanager", creds=creds)
    assert user_sm.describe_secret(SecretId="app/db")["Name"] == "app/db"
    with pytest.raises(ClientError) as exc:
        user_sm.get_secret_value(SecretId="app/db")
    assert error_code(exc.value) == "AccessDeniedException"
    # A wrong signature with the user's key: authentication failure, logged without the key.
    bad = berth.client("secretsmanager", creds=Creds(creds.access_key_id, creds.secret_access_key[::-1]))
    with pytest.raises(ClientError):
        bad.list_secrets()
    return creds


def assert_no_secret(log: str, creds):
    forbidden = {
        "secret value": SECRET_VALUE,
        "second secret value": SECRET_VALUE_2,
        "binary secret": SECRET_BINARY.decode(),
        "binary secret (base64)": base64.b64encode(SECRET_BINARY).decode(),
        "user's secret access key": creds.secret_access_key,
        "user's secret access key (as used reversed)": creds.secret_access_key[::-1],
        "root secret access key": ROOT_SECRET,
    }
    # JSON escapes "/" and "+" as themselves, but a key may be logged JSON-escaped or not:
    # check both the raw text and every decoded string.
    for what, value in forbidden.items():
        assert value not in log, f"the {what} appears in the log"
        assert json.dumps(value)[1:-1] not in log, f"the {what} appears (escaped) in the log"


def refused_event(events, principal_suffix):
    for ev in events:
        f = ev["fields"]
        if f.get("message") == "request refused" and str(f.get("principal", "")).endswith(principal_suffix):
            return ev
    return None


@pytest.mark.parametrize("how", ["env", "flag"])
def test_json_logs_have_the_promised_fields_and_no_secret(berth_factory, how):
    if how == "env":
        b = berth_factory(env_extra={"BERTH_LOG_FORMAT": "json"})
    else:
        b = berth_factory(extra_args=["--log-format", "json"])
    creds = exercise(b)

    log = b.log()
    events = json_lines(log)
    check_shape(events)
    assert any(ev["level"] == "INFO" for ev in events), log

    ev = refused_event(events, ":user/reader")
    assert ev is not None, f"no `request refused` event for user/reader:\n{log}"
    assert ev["level"] == "INFO"
    assert ev["target"].startswith("berth_api"), ev
    f = ev["fields"]
    assert f["principal"].startswith("arn:aws:iam::") and f["principal"].endswith(":user/reader"), f
    assert f["code"] == "AccessDeniedException", f
    assert f["status"] == 400, f
    assert f["service"] == "secretsmanager", f
    assert any(e["fields"]["message"] == "authentication failed" for e in events), log

    assert_no_secret(log, creds)


def test_text_logs_are_not_json(berth_factory):
    """The default stays text: the JSON check above is not vacuous."""
    b = berth_factory()
    exercise(b)
    lines = [line for line in b.log().splitlines() if line.strip()]
    assert lines
    assert not any(line.lstrip().startswith("{") for line in lines), lines[:5]
    assert any("request refused" in line for line in lines)
