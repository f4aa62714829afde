"""Signing hardening: an unsigned X-Amz-Target cannot be swapped, a made-up region is refused
unless configured, and what a client sent is quoted only as a short prefix."""

import json
import os

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
from botocore.exceptions import ClientError

from conftest import ROOT_KEY_ID, ROOT_SECRET, error_code, error_message


def message(err: dict) -> str:
    """A JSON error's message (Secrets Manager names the field `Message`, others `message`)."""
    return err.get("message") or err.get("Message", "")


def signed_without_target(berth, body: bytes):
    """Headers of a Secrets Manager request signed over host and x-amz-date only."""
    req = botocore.awsrequest.AWSRequest(method="POST", url=berth.endpoint + "/", data=body, headers={})
    botocore.auth.SigV4Auth(
        botocore.credentials.Credentials(ROOT_KEY_ID, ROOT_SECRET), "secretsmanager", "us-east-1"
    ).add_auth(req)
    headers = dict(req.headers.items())
    assert "SignedHeaders=host;x-amz-date," in headers["Authorization"], headers
    return headers


def test_unsigned_target_cannot_be_replayed_as_another_operation(berth):
    sm = berth.client("secretsmanager")
    sm.create_secret(Name="kept", SecretString="secret value")
    body = json.dumps({"SecretId": "kept"}).encode()
    headers = signed_without_target(berth, body)
    for target in ["DescribeSecret", "GetSecretValue", "DeleteSecret"]:
        h = dict(headers, **{
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"secretsmanager.{target}",
        })
        status, _, raw = berth.raw(body, headers=h)
        assert status == 400, raw
        err = json.loads(raw)
        assert err["__type"] == "InvalidSignatureException", err
        assert message(err) == "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.", err
        assert b"secret value" not in raw
    # Nothing ran: the secret is still there.
    assert sm.describe_secret(SecretId="kept")["Name"] == "kept"
    assert "DeletedDate" not in sm.describe_secret(SecretId="kept")


def test_any_unsigned_x_amz_header_is_refused(berth):
    status, _, raw = berth.raw(
        b"Action=GetCallerIdentity&Version=2011-06-15",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        sign=("sts", "us-east-1"),
    )
    assert status == 200, raw
    # A header added after signing.
    req_headers = {"Content-Type": "application/x-www-form-urlencoded"}
    req = botocore.awsrequest.AWSRequest(
        method="POST", url=berth.endpoint + "/", data=b"Action=GetCallerIdentity&Version=2011-06-15",
        headers=req_headers,
    )
    botocore.auth.SigV4Auth(
        botocore.credentials.Credentials(ROOT_KEY_ID, ROOT_SECRET), "sts", "us-east-1"
    ).add_auth(req)
    h = dict(req.headers.items(), **{"X-Amz-Meta-Note": "added later"})
    status, _, raw = berth.raw(b"Action=GetCallerIdentity&Version=2011-06-15", headers=h)
    assert status == 403, raw
    assert b"<Code>SignatureDoesNotMatch</Code>" in raw
    assert b"'X-Amz-Meta-Note' must be a 'SignedHeader' in the AWS Authorization." in raw


def test_made_up_region_is_refused(berth):
    sm = berth.client("secretsmanager", region="xx-fake-9")
    with pytest.raises(ClientError) as e:
        sm.list_secrets()
    assert error_code(e.value) == "InvalidSignatureException"
    assert error_message(e.value) == "Credential should be scoped to a valid region, not 'xx-fake-9'. "
    with pytest.raises(ClientError) as e:
        berth.client("sts", region="xx-fake-9").get_caller_identity()
    assert error_code(e.value) == "SignatureDoesNotMatch"
    assert error_message(e.value) == "Credential should be scoped to a valid region, not 'xx-fake-9'. "
    # AWS's regions are served.
    assert berth.client("secretsmanager", region="ap-southeast-7").list_secrets()["SecretList"] == []


def test_extra_regions_are_configured(berth_factory):
    b = berth_factory(env_extra={"BERTH_EXTRA_REGIONS": "xx-fake-9, lab-local-1"})
    sm = b.client("secretsmanager", region="xx-fake-9")
    sm.create_secret(Name="s", SecretString="v")
    assert [s["Name"] for s in sm.list_secrets()["SecretList"]] == ["s"]
    assert b.client("sts", region="lab-local-1").get_caller_identity()["Account"] == "000000000000"
    with pytest.raises(ClientError) as e:
        b.client("sts", region="xx-fake-8").get_caller_identity()
    assert error_message(e.value) == "Credential should be scoped to a valid region, not 'xx-fake-8'. "


def test_bad_extra_region_stops_the_server(berth_factory):
    with pytest.raises(RuntimeError) as e:
        berth_factory(env_extra={"BERTH_EXTRA_REGIONS": "Not A Region"})
    assert "BERTH_EXTRA_REGIONS" in str(e.value)


def test_garbage_authorization_is_quoted_short(berth):
    # Under the listener's 8 KiB header-line limit (a longer one never reaches SigV4: 431), far
    # over the 128 characters an error quotes.
    garbage = "AWS4-HMAC-SHA256 " + "x" * 7_000
    before = os.path.getsize(berth.log_path)
    for _ in range(20):
        status, _, raw = berth.raw(
            b"{}",
            headers={
                "Authorization": garbage,
                "X-Amz-Date": "20261129T011500Z",
                "X-Amz-Target": "secretsmanager.ListSecrets",
                "Content-Type": "application/x-amz-json-1.1",
            },
        )
        assert status == 400, raw[:500]
        assert len(raw) < 1024, len(raw)
        err = json.loads(raw)
        assert err["__type"] == "IncompleteSignatureException"
        assert "not a valid key=value pair (missing equal-sign) in Authorization header: 'AWS4-HMAC-SHA256 xxx" in message(err)
        assert message(err).endswith("…'."), message(err)
    grown = os.path.getsize(berth.log_path) - before
    assert grown < 20 * 2048, grown


def test_huge_credential_is_quoted_short(berth):
    credential = "K/" + "2" * 7_000 + "/us-east-1/sts"
    status, _, raw = berth.raw(
        b"Action=GetCallerIdentity&Version=2011-06-15",
        headers={
            "Authorization": f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host, Signature=00",
            "X-Amz-Date": "20261129T011500Z",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert status == 400, raw[:500]
    assert len(raw) < 1024, len(raw)
    assert b"Credential must have exactly 5 slash-delimited elements" in raw
