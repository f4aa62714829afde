"""Helpers the end-to-end test files share: policy documents, users with keys, more accounts,
AWS errors expected, clients without botocore's own checks, MFA codes, walks of a model's
operations."""

import base64
import hashlib
import hmac
import json
import struct
import subprocess
import urllib.parse
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import REGION, Creds, berth_bin, error_code, error_message


def allow(actions, resources="*"):
    """An identity policy allowing `actions` on `resources`."""
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resources}]}


def trust_user(user_arn):
    """A role trust policy letting one principal assume the role."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "sts:AssumeRole"}],
    }


def user_creds(berth, name, policy=None, creds=None, policy_name="p"):
    """Creates IAM user `name` (as `creds`, root by default) with an optional inline policy and
    returns the credentials of a fresh access key of it."""
    iam = berth.client("iam", creds=creds)
    iam.create_user(UserName=name)
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName=policy_name, PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Creds(key["AccessKeyId"], key["SecretAccessKey"])


def other_account(berth, account):
    """Adds an account with `berth account create` (the server keeps running) and returns its
    root credentials."""
    p = subprocess.run(
        [berth_bin(), "account", "create", account, "--data-dir", str(berth.data_dir)],
        capture_output=True, text=True, timeout=30,
    )
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    return Creds(out["AccessKeyId"], out["SecretAccessKey"])


def expect(call, code, message=None, **kwargs):
    """Calls `call(**kwargs)`, asserts it fails with HTTP 400, AWS code `code` and (when given)
    exactly `message`, and returns the error."""
    with pytest.raises(ClientError) as e:
        call(**kwargs)
    assert error_code(e.value) == code, e.value.response
    if message is not None:
        assert error_message(e.value) == message, e.value.response
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return e.value


def raw_client(berth, service, creds=None):
    """A `service` client (as `creds`, root by default) that skips botocore's own parameter
    checks and retries, so the server's checks are tested."""
    c = creds or berth.root
    return boto3.client(
        service, endpoint_url=berth.endpoint, region_name=REGION,
        aws_access_key_id=c.access_key_id, aws_secret_access_key=c.secret_access_key,
        aws_session_token=c.session_token,
        config=Config(retries={"max_attempts": 1}, parameter_validation=False),
    )


def totp(seed_b32: str, counter: int) -> str:
    """RFC 6238's code (HMAC-SHA1, six digits) for time step `counter`."""
    key = base64.b32decode(seed_b32 + "=" * (-len(seed_b32) % 8))
    h = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    o = h[19] & 0x0F
    word = struct.unpack(">I", h[o:o + 4])[0] & 0x7FFFFFFF
    return f"{word % 1_000_000:06d}"


def query_action(berth, service, action, version):
    """`action` with no parameters over the Query protocol, signed for `service`: (status, body)."""
    status, _, raw = berth.raw(
        body=urllib.parse.urlencode({"Action": action, "Version": version}).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        sign=(service, REGION),
    )
    return status, raw.decode()


def unanswered_operations(berth, service, model):
    """The operations of `models/<model>` berth does not know (`InvalidAction`, "Could not find
    operation"), each called with no parameters; an answer of 500 or more fails at once. Also
    the model's API version."""
    doc = json.loads((Path(__file__).resolve().parents[2] / "models" / model).read_text())
    version = doc["metadata"]["apiVersion"]
    unanswered = []
    for op in sorted(doc["operations"]):
        status, text = query_action(berth, service, op, version)
        assert status < 500, (op, status, text)
        if "<Code>InvalidAction</Code>" in text or "Could not find operation" in text:
            unanswered.append(op)
    return unanswered, version
