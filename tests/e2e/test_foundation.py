"""Foundation: one listener, SigV4 on every request, both wire protocols, accounts, the store."""

import datetime
import json
import os
import stat
import subprocess
import urllib.request

import pytest
from botocore.exceptions import ClientError

from conftest import ROOT_KEY_ID, Creds, berth_bin, error_code, error_message, json_body, store_bytes

SIG_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)
INVALID_TOKEN = "The security token included in the request is invalid."


def test_health_is_unsigned_and_ready(berth):
    with urllib.request.urlopen(berth.endpoint + "/_berth/health") as r:
        assert r.status == 200
        assert json.loads(r.read()) == {"status": "ready"}


def test_cli_get_caller_identity_root(berth):
    code, out, err = berth.aws("sts", "get-caller-identity", check=True)
    ident = json.loads(out)
    assert ident == {
        "UserId": "000000000000",
        "Account": "000000000000",
        "Arn": "arn:aws:iam::000000000000:root",
    }


def test_cli_wrong_secret_and_unknown_key_query(berth):
    # A known key id with the wrong secret: AWS answers SignatureDoesNotMatch.
    code, out, err = berth.aws("sts", "get-caller-identity", creds=Creds(ROOT_KEY_ID, "wrong" * 8))
    assert code == 255
    assert "An error occurred (SignatureDoesNotMatch) when calling the GetCallerIdentity operation" in err
    assert SIG_MISMATCH in err
    # A key id berth does not know: InvalidClientTokenId.
    code, out, err = berth.aws("sts", "get-caller-identity", creds=Creds("AKIAUNKNOWNKEY000000", "x" * 40))
    assert code == 255
    assert f"An error occurred (InvalidClientTokenId) when calling the GetCallerIdentity operation: {INVALID_TOKEN}" in err


def test_json_service_wrong_secret_and_unknown_key(berth):
    ecs = berth.client("ecs", creds=Creds(ROOT_KEY_ID, "wrong" * 8))
    with pytest.raises(ClientError) as e:
        ecs.list_clusters()
    assert error_code(e.value) == "InvalidSignatureException"
    assert error_message(e.value) == SIG_MISMATCH
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    kms = berth.client("kms", creds=Creds("AKIAUNKNOWNKEY000000", "x" * 40))
    with pytest.raises(ClientError) as e:
        kms.list_keys()
    assert error_code(e.value) == "UnrecognizedClientException"
    assert error_message(e.value) == INVALID_TOKEN
    sm = berth.client("secretsmanager", creds=Creds("AKIAUNKNOWNKEY000000", "x" * 40))
    with pytest.raises(ClientError) as e:
        sm.list_secrets()
    # Secrets Manager's error body uses `Message`; botocore reads it all the same.
    assert error_code(e.value) == "UnrecognizedClientException"
    assert error_message(e.value) == INVALID_TOKEN


def test_unsigned_requests_refused_per_protocol(berth):
    status, _, body = berth.raw(
        b"Action=GetCallerIdentity&Version=2011-06-15",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 403
    assert b"<Code>MissingAuthenticationToken</Code>" in body
    status, _, body = berth.raw(
        b"{}",
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.ListKeys"},
    )
    assert status == 400
    assert json_body(body)["__type"] == "MissingAuthenticationTokenException"


def test_expired_and_future_signatures(berth):
    past = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(minutes=10)
    status, _, body = berth.raw(
        b"Action=GetCallerIdentity&Version=2011-06-15",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        sign=("sts", "us-east-1"),
        timestamp=past,
    )
    assert status == 403
    text = body.decode()
    assert "<Code>SignatureDoesNotMatch</Code>" in text
    assert "Signature expired: " + past.strftime("%Y%m%dT%H%M%SZ") + " is now earlier than " in text
    assert " - 5 min.)" in text
    future = past + datetime.timedelta(minutes=20)
    status, _, body = berth.raw(
        b"{}",
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.ListKeys"},
        sign=("kms", "us-east-1"),
        timestamp=future,
    )
    assert status == 400
    err = json_body(body)
    assert err["__type"] == "InvalidSignatureException"
    assert err["message"].startswith("Signature not yet current: " + future.strftime("%Y%m%dT%H%M%SZ"))
    assert err["message"].endswith(" + 5 min.)")


def test_body_signed_then_tampered_is_refused(berth):
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials

    req = botocore.awsrequest.AWSRequest(
        method="POST",
        url=berth.endpoint + "/",
        data=b"Action=GetCallerIdentity&Version=2011-06-15",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(ROOT_KEY_ID, berth.root.secret_access_key), "sts", "us-east-1").add_auth(req)
    headers = dict(req.headers.items())
    ok = urllib.request.Request(berth.endpoint + "/", data=req.body, headers=headers, method="POST")
    with urllib.request.urlopen(ok) as r:
        assert r.status == 200
    status, _, body = berth.raw(b"Action=GetCallerIdentity&Version=2011-06-15&X=1", headers=headers)
    assert status == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in body


def test_session_token_on_a_permanent_key_is_refused(berth):
    sts = berth.client("sts", creds=Creds(ROOT_KEY_ID, berth.root.secret_access_key, "bogus-token"))
    with pytest.raises(ClientError) as e:
        sts.get_caller_identity()
    assert error_code(e.value) == "InvalidClientTokenId"


def test_bad_input_gets_aws_errors_and_server_keeps_serving(berth):
    json_headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.ListKeys"}
    # Malformed JSON.
    status, _, body = berth.raw(b"{not json", headers=json_headers, sign=("kms", "us-east-1"))
    assert status == 400 and json_body(body)["__type"] == "SerializationException"
    # A JSON array is not an operation input.
    status, _, body = berth.raw(b"[1,2]", headers=json_headers, sign=("kms", "us-east-1"))
    assert status == 400 and json_body(body)["__type"] == "SerializationException"
    # Missing X-Amz-Target on a JSON service.
    status, _, body = berth.raw(b"{}", headers={"Content-Type": "application/x-amz-json-1.1"}, sign=("ecs", "us-east-1"))
    assert status == 400 and json_body(body)["__type"] == "UnknownOperationException"
    # Wrong content type.
    status, _, body = berth.raw(
        b"{}", headers={"Content-Type": "text/plain", "X-Amz-Target": "TrentService.ListKeys"}, sign=("kms", "us-east-1")
    )
    assert status == 400 and json_body(body)["__type"] == "UnknownOperationException"
    # Unknown JSON operation.
    status, _, body = berth.raw(
        b"{}",
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.Frobnicate"},
        sign=("ecs", "us-east-1"),
    )
    assert status == 400 and json_body(body)["__type"] == "UnknownOperationException"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    # Query without Action.
    status, _, body = berth.raw(b"Version=2011-06-15", headers=form, sign=("sts", "us-east-1"))
    assert status == 400 and b"<Code>MissingAction</Code>" in body
    # Query without Version.
    status, _, body = berth.raw(b"Action=GetCallerIdentity", headers=form, sign=("sts", "us-east-1"))
    assert status == 400 and b"<Code>InvalidAction</Code>" in body
    assert b"Could not find operation GetCallerIdentity for version NO_VERSION_SPECIFIED" in body
    # Unknown Query action.
    status, _, body = berth.raw(b"Action=Frobnicate&Version=2011-06-15", headers=form, sign=("sts", "us-east-1"))
    assert status == 400 and b"<Code>InvalidAction</Code>" in body
    assert b"<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">" in body
    # An Authorization header that does not parse.
    status, _, body = berth.raw(
        b"Action=GetCallerIdentity&Version=2011-06-15",
        headers={**form, "Authorization": "AWS4-HMAC-SHA256 garbage", "X-Amz-Date": "20261129T000000Z"},
    )
    assert status == 400 and b"<Code>IncompleteSignature</Code>" in body
    # A credential scope for a service berth does not serve.
    status, _, body = berth.raw(
        b"{}",
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "DynamoDB_20120810.ListTables"},
        sign=("dynamodb", "us-east-1"),
    )
    assert status == 400 and json_body(body)["__type"] == "InvalidSignatureException"
    # Signed for one service, aimed at another's target: AWS names the right one.
    status, _, body = berth.raw(b"{}", headers=json_headers, sign=("ecs", "us-east-1"))
    assert status == 400
    assert json_body(body) == {
        "__type": "InvalidSignatureException",
        "message": "Credential should be scoped to correct service: 'kms'. ",
    }
    # A region that is not one.
    status, _, body = berth.raw(b"Action=GetCallerIdentity&Version=2011-06-15", headers=form, sign=("sts", "Mars"))
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body
    assert b"Credential should be scoped to a valid region, not 'Mars'. " in body
    # A huge body is refused without reading it all.
    status, _, body = berth.raw(b"x" * (2 * 1024 * 1024), headers=json_headers, sign=("kms", "us-east-1"))
    assert status == 413 and json_body(body)["__type"] == "RequestEntityTooLarge"
    # ...and the server is still there.
    code, out, _ = berth.aws("sts", "get-caller-identity", check=True)
    assert json.loads(out)["Account"] == "000000000000"


def test_query_get_form_is_accepted(berth):
    status, _, body = berth.raw(
        method="GET",
        path="/?Action=GetCallerIdentity&Version=2011-06-15",
        sign=("sts", "us-east-1"),
    )
    assert status == 200, body
    assert b"<Arn>arn:aws:iam::000000000000:root</Arn>" in body


def test_generated_credentials_file(berth_factory):
    b = berth_factory(env_creds=False)
    cred_file = b.data_dir / "credentials"
    assert stat.S_IMODE(cred_file.stat().st_mode) == 0o600
    text = cred_file.read_text()
    assert text.startswith("[berth]\n")
    key_file = b.data_dir / "root.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_SHARED_CREDENTIALS_FILE=str(cred_file), AWS_CONFIG_FILE="/dev/null", AWS_DEFAULT_REGION="us-east-1")
    import sys
    from pathlib import Path

    cli = str(Path(sys.executable).parent / "aws")
    p = subprocess.run(
        [cli, "--endpoint-url", b.endpoint, "--profile", "berth", "sts", "get-caller-identity"],
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["Arn"] == "arn:aws:iam::000000000000:root"
    # The secret access key is in the credentials file only, never in the database or the log.
    secret = [l for l in text.splitlines() if l.startswith("aws_secret_access_key")][0].split("=", 1)[1].strip()
    for f in b.data_dir.iterdir():
        if f.name == "credentials":
            continue
        assert secret.encode() not in f.read_bytes(), f"secret found in {f.name}"
    assert secret not in b.log()
    # A restart keeps the same credentials and does not rewrite the file.
    b.stop()
    b2 = berth_factory(name="data", env_creds=False)
    assert cred_file.read_text() == text
    p = subprocess.run(
        [cli, "--endpoint-url", b2.endpoint, "--profile", "berth", "sts", "get-caller-identity"],
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert p.returncode == 0, p.stderr


def test_account_create_while_running(berth):
    p = subprocess.run(
        [berth_bin(), "account", "create", "111122223333", "--data-dir", str(berth.data_dir)],
        capture_output=True, text=True, timeout=30,
    )
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert set(out) == {"AccountId", "AccessKeyId", "SecretAccessKey"}
    assert out["AccountId"] == "111122223333"
    assert out["AccessKeyId"].startswith("AKIA") and len(out["AccessKeyId"]) == 20
    creds = Creds(out["AccessKeyId"], out["SecretAccessKey"])
    ident = berth.client("sts", creds=creds).get_caller_identity()
    assert ident["Arn"] == "arn:aws:iam::111122223333:root"
    assert ident["Account"] == "111122223333"
    # Twice is an error, and so is a malformed id.
    p = subprocess.run(
        [berth_bin(), "account", "create", "111122223333", "--data-dir", str(berth.data_dir)],
        capture_output=True, text=True, timeout=30,
    )
    assert p.returncode != 0 and "already exists" in p.stderr
    p = subprocess.run(
        [berth_bin(), "account", "create", "12345", "--data-dir", str(berth.data_dir)],
        capture_output=True, text=True, timeout=30,
    )
    assert p.returncode != 0 and "twelve digits" in p.stderr
    # The new secret is sealed in the store.
    assert out["SecretAccessKey"].encode() not in store_bytes(berth.data_dir)


def test_a_second_server_on_the_same_data_dir_is_refused(berth):
    p = subprocess.run(
        [berth_bin(), "server", "--listen", "127.0.0.1:0", "--data-dir", str(berth.data_dir)],
        capture_output=True, text=True, timeout=30,
    )
    assert p.returncode != 0
    assert f"{berth.data_dir} is in use by another berth server (it holds {berth.data_dir / 'server.lock'})" in p.stderr
    # The first one serves on.
    assert berth.client("sts").get_caller_identity()["Account"] == "000000000000"


def test_custom_default_account(berth_factory):
    b = berth_factory(account_id="444455556666")
    ident = b.client("sts").get_caller_identity()
    assert ident["Arn"] == "arn:aws:iam::444455556666:root"


def test_any_valid_region_signs(berth):
    for region in ["eu-west-3", "ap-southeast-2"]:
        assert berth.client("sts", region=region).get_caller_identity()["Account"] == "000000000000"
