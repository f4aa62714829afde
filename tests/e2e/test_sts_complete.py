"""STS beyond AssumeRole, end to end: GetSessionToken (a user's temporary credentials that act
as the user, its duration rules and refusals), GetAccessKeyInfo and DecodeAuthorizationMessage.
Driven by boto3 and the AWS CLI."""

import html
import json
import urllib.parse
from datetime import datetime, timezone

import pytest
from botocore.exceptions import ClientError

from conftest import Creds, error_code, error_message
from helpers import allow, trust_user, user_creds

ACCOUNT = "000000000000"


def sts_raw(berth, creds=None, **params):
    """A signed STS Query request with parameters botocore would refuse to send; (status, text)."""
    body = urllib.parse.urlencode({"Version": "2011-06-15", **params}).encode()
    status, _, raw = berth.raw(
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        sign=("sts", "us-east-1"),
        creds=creds,
    )
    return status, html.unescape(raw.decode())


def session_of(resp):
    c = resp["Credentials"]
    return Creds(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])


def lifetime(resp):
    return (resp["Credentials"]["Expiration"] - datetime.now(timezone.utc)).total_seconds()


def test_session_token_acts_as_the_user(berth):
    creds = user_creds(berth, "ann", policy=allow(["ssm:DescribeParameters", "sts:AssumeRole"]))
    sts = berth.client("sts", creds=creds)
    resp = sts.get_session_token()
    assert resp["Credentials"]["AccessKeyId"].startswith("ASIA")
    assert 43_000 < lifetime(resp) <= 43_200
    session = session_of(resp)

    me = berth.client("sts", creds=session).get_caller_identity()
    assert me["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/ann"
    # The user's own permissions, no more.
    ssm = berth.client("ssm", creds=session)
    assert ssm.describe_parameters()["Parameters"] == []
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name="x", Value="y", Type="String")
    assert error_code(e.value) == "AccessDeniedException"
    assert f"user/ann is not authorized to perform: ssm:PutParameter" in error_message(e.value)

    # Without MFA the credentials do not reach IAM; STS answers only AssumeRole and
    # GetCallerIdentity.
    with pytest.raises(ClientError) as e:
        berth.client("iam", creds=session).list_users()
    assert error_code(e.value) == "InvalidClientTokenId"
    assert error_message(e.value) == "The security token included in the request is invalid."
    with pytest.raises(ClientError) as e:
        berth.client("sts", creds=session).get_session_token()
    assert error_code(e.value) == "AccessDenied"
    assert error_message(e.value) == "Cannot call GetSessionToken with session credentials"

    # They assume roles like the user does.
    iam = berth.client("iam")
    iam.create_role(RoleName="deploy", AssumeRolePolicyDocument=json.dumps(trust_user(f"arn:aws:iam::{ACCOUNT}:user/ann")))
    assumed = berth.client("sts", creds=session).assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/deploy", RoleSessionName="s1"
    )
    assert assumed["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/deploy/s1"

    # The wrong token, or none, is refused.
    bad = Creds(session.access_key_id, session.secret_access_key, session.session_token[:-4] + "AAAA")
    with pytest.raises(ClientError) as e:
        berth.client("sts", creds=bad).get_caller_identity()
    assert error_code(e.value) == "InvalidClientTokenId"

    # Not one of the user's access keys; gone with the user.
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName="ann")["AccessKeyMetadata"]] == [creds.access_key_id]
    iam.delete_user_policy(UserName="ann", PolicyName="p")
    iam.delete_access_key(UserName="ann", AccessKeyId=creds.access_key_id)
    iam.delete_user(UserName="ann")
    with pytest.raises(ClientError) as e:
        berth.client("sts", creds=session).get_caller_identity()
    assert error_code(e.value) == "InvalidClientTokenId"


def test_session_token_durations_and_refusals(berth):
    sts = berth.client("sts")
    # The root user's session is held to one hour.
    root = sts.get_session_token(DurationSeconds=7200)
    assert 3500 < lifetime(root) <= 3600
    assert berth.client("sts", creds=session_of(root)).get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"

    creds = user_creds(berth, "bob")
    bob = berth.client("sts", creds=creds)
    assert 800 < lifetime(bob.get_session_token(DurationSeconds=900)) <= 900
    assert 129_000 < lifetime(bob.get_session_token(DurationSeconds=129_600)) <= 129_600
    status, text = sts_raw(berth, creds, Action="GetSessionToken", DurationSeconds="899")
    assert status == 400 and "<Code>ValidationError</Code>" in text
    assert (
        "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: "
        "Member must have value greater than or equal to 900"
    ) in text, text
    status, text = sts_raw(berth, creds, Action="GetSessionToken", DurationSeconds="129601")
    assert status == 400 and "Member must have value less than or equal to 129600" in text
    status, text = sts_raw(
        berth, creds, Action="GetSessionToken", SerialNumber="arn:aws:iam::000000000000:mfa/bob", TokenCode="12345x"
    )
    assert status == 400 and "Member must satisfy regular expression pattern: [\\d]*" in text, text
    with pytest.raises(ClientError) as e:
        bob.get_session_token(SerialNumber="arn:aws:iam::000000000000:mfa/bob", TokenCode="123456")
    assert error_code(e.value) == "AccessDenied"

    # A role session may not call it.
    iam = berth.client("iam")
    iam.put_user_policy(UserName="bob", PolicyName="assume", PolicyDocument=json.dumps(allow("sts:AssumeRole")))
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(trust_user(f"arn:aws:iam::{ACCOUNT}:user/bob")))
    role = session_of(bob.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/r", RoleSessionName="s1"))
    with pytest.raises(ClientError) as e:
        berth.client("sts", creds=role).get_session_token()
    assert error_code(e.value) == "AccessDenied"
    assert error_message(e.value) == "Cannot call GetSessionToken with session credentials"

    code, out, err = berth.aws("sts", "get-session-token", "--duration-seconds", "1000", creds=creds)
    assert code == 0, err
    assert json.loads(out)["Credentials"]["AccessKeyId"].startswith("ASIA")


def test_access_key_info_and_authorization_messages(berth):
    sts = berth.client("sts")
    assert sts.get_access_key_info(AccessKeyId=berth.root.access_key_id)["Account"] == ACCOUNT
    creds = user_creds(berth, "cat", policy=allow("sts:GetCallerIdentity"))
    assert sts.get_access_key_info(AccessKeyId=creds.access_key_id)["Account"] == ACCOUNT
    status, text = sts_raw(berth, Action="GetAccessKeyInfo", AccessKeyId="AKIA0000")
    assert status == 400 and "Member must have length greater than or equal to 16" in text
    with pytest.raises(ClientError) as e:
        sts.get_access_key_info(AccessKeyId="AKIAIOSFODNN7EXAMPLE")
    assert error_code(e.value) == "ValidationError"

    cat = berth.client("sts", creds=creds)
    with pytest.raises(ClientError) as e:
        cat.get_access_key_info(AccessKeyId=creds.access_key_id)
    assert error_code(e.value) == "AccessDenied"
    assert error_message(e.value) == (
        f"User: arn:aws:iam::{ACCOUNT}:user/cat is not authorized to perform: sts:GetAccessKeyInfo on resource: * "
        "because no identity-based policy allows the sts:GetAccessKeyInfo action"
    )
    with pytest.raises(ClientError) as e:
        cat.decode_authorization_message(EncodedMessage="abc")
    assert error_code(e.value) == "AccessDenied"
    with pytest.raises(ClientError) as e:
        sts.decode_authorization_message(EncodedMessage="not-a-message-berth-encoded")
    assert error_code(e.value) == "InvalidAuthorizationMessageException"

    code, out, err = berth.aws("sts", "get-access-key-info", "--access-key-id", creds.access_key_id)
    assert code == 0, err
    assert json.loads(out)["Account"] == ACCOUNT


def test_federation_token_intersects_the_users_policies(berth):
    iam = berth.client("iam")
    creds = user_creds(
        berth, "fed", policy=allow(["ssm:DescribeParameters", "ssm:GetParameter", "sts:GetFederationToken"])
    )
    sts = berth.client("sts", creds=creds)
    narrow = json.dumps(allow(["ssm:DescribeParameters", "ssm:PutParameter"]))
    resp = sts.get_federation_token(Name="bob-fed", Policy=narrow, DurationSeconds=900)
    assert resp["FederatedUser"] == {
        "FederatedUserId": f"{ACCOUNT}:bob-fed",
        "Arn": f"arn:aws:sts::{ACCOUNT}:federated-user/bob-fed",
    }
    assert 800 < lifetime(resp) <= 900
    assert resp["PackedPolicySize"] > 0
    session = session_of(resp)
    assert berth.client("sts", creds=session).get_caller_identity()["Arn"] == f"arn:aws:sts::{ACCOUNT}:federated-user/bob-fed"
    ssm = berth.client("ssm", creds=session)
    # Both allow it.
    assert ssm.describe_parameters()["Parameters"] == []
    # The user's policies allow it, the federation's does not.
    with pytest.raises(ClientError) as e:
        ssm.get_parameter(Name="x")
    assert error_code(e.value) == "AccessDeniedException"
    assert error_message(e.value).endswith("because no session policy allows the ssm:GetParameter action")
    # The federation's policy allows it, the user's do not.
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name="x", Value="y", Type="String")
    assert error_code(e.value) == "AccessDeniedException"
    assert "because no identity-based policy allows the ssm:PutParameter action" in error_message(e.value)

    # No policy: the federated user may do nothing.
    bare = session_of(sts.get_federation_token(Name="nobody"))
    with pytest.raises(ClientError) as e:
        berth.client("ssm", creds=bare).describe_parameters()
    assert error_code(e.value) == "AccessDeniedException"

    # Managed policies narrow too; the IAM API is out of reach; it may not federate again.
    managed = session_of(
        sts.get_federation_token(Name="m1", PolicyArns=[{"arn": "arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess"}])
    )
    assert berth.client("ssm", creds=managed).describe_parameters()["Parameters"] == []
    with pytest.raises(ClientError) as e:
        berth.client("iam", creds=managed).list_users()
    assert error_code(e.value) == "InvalidClientTokenId"
    with pytest.raises(ClientError) as e:
        berth.client("sts", creds=managed).get_federation_token(Name="again")
    assert error_code(e.value) == "AccessDenied"

    # Authorised as sts:GetFederationToken on the federated user's ARN.
    other = berth.client("sts", creds=user_creds(berth, "nofed", policy=allow("ssm:*")))
    with pytest.raises(ClientError) as e:
        other.get_federation_token(Name="x1")
    assert error_code(e.value) == "AccessDenied"
    assert error_message(e.value) == (
        f"User: arn:aws:iam::{ACCOUNT}:user/nofed is not authorized to perform: sts:GetFederationToken on resource: "
        f"arn:aws:sts::{ACCOUNT}:federated-user/x1 because no identity-based policy allows the sts:GetFederationToken action"
    )
    status, text = sts_raw(berth, creds, Action="GetFederationToken", Name="x")
    assert status == 400 and "Member must have length greater than or equal to 2" in text

    code, out, err = berth.aws("sts", "get-federation-token", "--name", "cli-fed", "--policy", narrow, creds=creds)
    assert code == 0, err
    assert json.loads(out)["FederatedUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:federated-user/cli-fed"
