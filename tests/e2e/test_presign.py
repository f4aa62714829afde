"""Presigned requests: SigV4 in the query string, as botocore's generate_presigned_url makes it
and as Vault's AWS auth method and aws-iam-authenticator use it to prove an identity with a
presigned sts:GetCallerIdentity."""

import json
import urllib.error
import urllib.request

from conftest import REGION, Creds
from helpers import allow, trust_user, user_creds


def fetch(url, method="GET", headers=None, data=None):
    r = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(r, timeout=30) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def presign_identity(berth, creds=None, expires=60, method="GET"):
    sts = berth.client("sts", creds=creds)
    url = sts.generate_presigned_url(
        "get_caller_identity", ExpiresIn=expires, HttpMethod=method
    )
    # The client signs for the regional endpoint it was given.
    assert url.startswith(berth.endpoint + "/?"), url
    assert f"%2F{REGION}%2Fsts%2Faws4_request" in url, url
    return url


def test_presigned_get_caller_identity_names_the_caller(berth):
    url = presign_identity(berth)
    status, body = fetch(url)
    assert status == 200, body
    assert "<GetCallerIdentityResponse" in body
    assert "<Arn>arn:aws:iam::000000000000:root</Arn>" in body
    assert "<Account>000000000000</Account>" in body


def test_presigned_for_post_is_sent_as_a_post(berth):
    # botocore presigns the operation's own method (POST for STS) unless told otherwise; such a
    # URL is sent as a POST without a body.
    sts = berth.client("sts")
    url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=60)
    status, body = fetch(url, method="POST", data=b"")
    assert status == 200, body
    assert "<Arn>arn:aws:iam::000000000000:root</Arn>" in body
    # The same URL sent as a GET is another request than the one signed.
    status, body = fetch(url)
    assert status == 403, body
    assert "<Code>SignatureDoesNotMatch</Code>" in body


def test_tampered_presigned_requests_are_refused(berth):
    url = presign_identity(berth)
    sig_at = url.index("X-Amz-Signature=") + len("X-Amz-Signature=")
    flipped = url[:sig_at] + ("0" if url[sig_at] != "0" else "1") + url[sig_at + 1:]
    for bad in [
        flipped,
        url.replace("X-Amz-Expires=60", "X-Amz-Expires=600"),
        url.replace("Action=GetCallerIdentity", "Action=GetSessionToken"),
        url + "&Extra=1",
    ]:
        status, body = fetch(bad)
        assert status == 403, (bad, body)
        assert "<Code>SignatureDoesNotMatch</Code>" in body, body
        assert "The request signature we calculated does not match" in body, body


def test_expired_presigned_request_is_refused(berth_factory):
    # The server's clock runs 120 s ahead: a URL valid for 60 s has expired on arrival, one
    # valid for 300 s has not.
    b = berth_factory(env_extra={"BERTH_CLOCK_OFFSET_SECS": "120"})
    status, body = fetch(presign_identity(b, expires=60))
    assert status == 403, body
    assert "<Code>SignatureDoesNotMatch</Code>" in body
    assert "<Message>Request has expired</Message>" in body
    status, body = fetch(presign_identity(b, expires=300))
    assert status == 200, body


def test_presigned_request_dated_in_the_future_is_refused(berth_factory):
    b = berth_factory(env_extra={"BERTH_CLOCK_OFFSET_SECS": "-600"})
    status, body = fetch(presign_identity(b, expires=3600))
    assert status == 403, body
    assert "Signature not yet current:" in body


def test_expires_out_of_range(berth):
    status, body = fetch(presign_identity(berth, expires=604801))
    assert status == 400, body
    assert (
        "X-Amz-Expires must be less than a week (in seconds); that is, the given "
        "X-Amz-Expires must be less than 604800 seconds"
    ) in body
    status, body = fetch(presign_identity(berth, expires=604800))
    assert status == 200, body


def test_missing_query_parameters(berth):
    url = presign_identity(berth)
    base, query = url.split("?", 1)
    kept = "&".join(p for p in query.split("&") if not p.startswith(("X-Amz-Credential=", "X-Amz-Date=")))
    status, body = fetch(f"{base}?{kept}")
    assert status == 400, body
    assert (
        "AWS query-string parameters must include 'X-Amz-Credential'. "
        "AWS query-string parameters must include 'X-Amz-Date'. "
        "Re-examine the query-string parameters."
    ) in body


def test_presigned_with_a_session_token(berth):
    alice = user_creds(berth, "alice", allow("sts:AssumeRole"))
    iam = berth.client("iam")
    role = iam.create_role(
        RoleName="prover",
        AssumeRolePolicyDocument=json.dumps(trust_user("arn:aws:iam::000000000000:user/alice")),
    )["Role"]
    c = berth.client("sts", creds=alice).assume_role(RoleArn=role["Arn"], RoleSessionName="vault")[
        "Credentials"
    ]
    session = Creds(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    url = presign_identity(berth, creds=session)
    assert "X-Amz-Security-Token=" in url
    status, body = fetch(url)
    assert status == 200, body
    assert "<Arn>arn:aws:sts::000000000000:assumed-role/prover/vault</Arn>" in body
    # The token is covered by the signature: another one is refused.
    status, body = fetch(url.replace("X-Amz-Security-Token=", "X-Amz-Security-Token=x"))
    assert status == 403, body


def test_presigned_json_service(berth):
    # botocore presigns a JSON operation as a POST whose signed headers include Content-Type
    # and X-Amz-Target; its input moves to the query string, which JSON protocols do not read.
    sm = berth.client("secretsmanager")
    sm.create_secret(Name="presigned", SecretString="v")
    url = sm.generate_presigned_url("list_secrets", ExpiresIn=60)
    assert "X-Amz-SignedHeaders=content-type%3Bhost%3Bx-amz-target" in url, url
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "secretsmanager.ListSecrets"}
    status, body = fetch(url, method="POST", headers=headers, data=b"{}")
    # The body is the request's: a presigned request signs the hash of an empty one.
    assert status == 400, body
    assert json.loads(body)["__type"] == "InvalidSignatureException", body
    status, body = fetch(url, method="POST", headers=headers, data=b"")
    assert status == 200, body
    assert [s["Name"] for s in json.loads(body)["SecretList"]] == ["presigned"]
    # The target is signed: the URL cannot be turned into another operation.
    other = dict(headers, **{"X-Amz-Target": "secretsmanager.GetSecretValue"})
    status, body = fetch(url, method="POST", headers=other, data=b"")
    assert status == 400, body
    assert json.loads(body)["__type"] == "InvalidSignatureException", body
