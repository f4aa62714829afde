"""STS and the policy engine end to end: users with narrow policies, AssumeRole, session expiry."""

import json

import pytest
from botocore.exceptions import ClientError

from conftest import Creds, error_code, error_message
from helpers import allow, trust_user, user_creds

ACCOUNT = "000000000000"


def test_user_with_narrow_policy_allowed_and_denied_cli(berth):
    alice = user_creds(berth, "alice", allow("iam:GetUser", f"arn:aws:iam::{ACCOUNT}:user/alice"))
    code, out, err = berth.aws("iam", "get-user", "--user-name", "alice", creds=alice)
    assert code == 0, err
    assert json.loads(out)["User"]["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/alice"
    code, out, err = berth.aws("iam", "get-user", "--user-name", "bob", creds=alice)
    assert code == 255
    assert (
        "An error occurred (AccessDenied) when calling the GetUser operation: "
        f"User: arn:aws:iam::{ACCOUNT}:user/alice is not authorized to perform: iam:GetUser on resource: "
        f"arn:aws:iam::{ACCOUNT}:user/bob because no identity-based policy allows the iam:GetUser action"
    ) in err
    # GetCallerIdentity needs no permission.
    code, out, err = berth.aws("sts", "get-caller-identity", creds=alice)
    assert code == 0, err
    ident = json.loads(out)
    assert ident["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/alice"
    assert ident["UserId"].startswith("AIDA")


def test_explicit_deny_wins(berth):
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "iam:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "iam:CreateUser", "Resource": "*"},
        ],
    }
    carol = user_creds(berth, "carol", policy)
    iam = berth.client("iam", creds=carol)
    iam.list_users()
    with pytest.raises(ClientError) as e:
        iam.create_user(UserName="mallory")
    assert error_code(e.value) == "AccessDenied"
    assert error_message(e.value).endswith("with an explicit deny in an identity-based policy")


def test_assume_role_allowed_by_trust_policy(berth):
    alice = user_creds(berth, "alice", allow("sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/reader"))
    iam = berth.client("iam")
    iam.create_role(RoleName="reader", AssumeRolePolicyDocument=json.dumps(trust_user(f"arn:aws:iam::{ACCOUNT}:user/alice")))
    iam.put_role_policy(RoleName="reader", PolicyName="p", PolicyDocument=json.dumps(allow("iam:ListRoles")))
    code, out, err = berth.aws(
        "sts", "assume-role", "--role-arn", f"arn:aws:iam::{ACCOUNT}:role/reader", "--role-session-name", "s1",
        creds=alice,
    )
    assert code == 0, err
    resp = json.loads(out)
    c = resp["Credentials"]
    assert c["AccessKeyId"].startswith("ASIA")
    assert resp["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/reader/s1"
    assert resp["AssumedRoleUser"]["AssumedRoleId"].startswith("AROA")
    assert resp["AssumedRoleUser"]["AssumedRoleId"].endswith(":s1")
    session = Creds(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    ident = berth.client("sts", creds=session).get_caller_identity()
    assert ident["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/reader/s1"
    # The role's policy applies to the session.
    berth.client("iam", creds=session).list_roles()
    with pytest.raises(ClientError) as e:
        berth.client("iam", creds=session).list_users()
    assert error_code(e.value) == "AccessDenied"
    assert f"User: arn:aws:sts::{ACCOUNT}:assumed-role/reader/s1 is not authorized to perform: iam:ListUsers" in error_message(e.value)
    # A session token that is not the key's is refused.
    bad = Creds(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"][:-4] + "AAAA")
    with pytest.raises(ClientError) as e:
        berth.client("sts", creds=bad).get_caller_identity()
    assert error_code(e.value) == "InvalidClientTokenId"
    # ...and so is the key without its token.
    with pytest.raises(ClientError) as e:
        berth.client("sts", creds=Creds(c["AccessKeyId"], c["SecretAccessKey"])).get_caller_identity()
    assert error_code(e.value) == "InvalidClientTokenId"


def test_assume_role_denied_when_trust_policy_does_not_allow(berth):
    bob = user_creds(berth, "bob", allow("sts:AssumeRole"))
    iam = berth.client("iam")
    iam.create_role(RoleName="private", AssumeRolePolicyDocument=json.dumps(trust_user(f"arn:aws:iam::{ACCOUNT}:user/alice")))
    code, out, err = berth.aws(
        "sts", "assume-role", "--role-arn", f"arn:aws:iam::{ACCOUNT}:role/private", "--role-session-name", "s1", creds=bob
    )
    assert code == 255
    assert (
        "An error occurred (AccessDenied) when calling the AssumeRole operation: "
        f"User: arn:aws:iam::{ACCOUNT}:user/bob is not authorized to perform: sts:AssumeRole on resource: "
        f"arn:aws:iam::{ACCOUNT}:role/private"
    ) in err
    # A role that does not exist reads the same.
    code, out, err = berth.aws(
        "sts", "assume-role", "--role-arn", f"arn:aws:iam::{ACCOUNT}:role/nope", "--role-session-name", "s1", creds=bob
    )
    assert code == 255 and "(AccessDenied)" in err
    # Root may not assume roles.
    with pytest.raises(ClientError) as e:
        berth.client("sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/private", RoleSessionName="s0")
    assert error_message(e.value) == "Roles may not be assumed by root accounts."


def test_account_delegating_trust_needs_the_identity_policy(berth):
    # Trusting the account delegates to IAM: a user may assume the role only if its own policy allows.
    dave = user_creds(berth, "dave", allow("iam:GetUser"))
    iam = berth.client("iam")
    iam.create_role(
        RoleName="delegated",
        AssumeRolePolicyDocument=json.dumps(trust_user(f"arn:aws:iam::{ACCOUNT}:root")),
    )
    sts = berth.client("sts", creds=dave)
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/delegated", RoleSessionName="s0")
    assert error_code(e.value) == "AccessDenied"
    iam.put_user_policy(UserName="dave", PolicyName="assume", PolicyDocument=json.dumps(allow("sts:AssumeRole")))
    sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/delegated", RoleSessionName="s0")


def test_assume_role_validation(berth):
    erin = user_creds(berth, "erin", allow("sts:AssumeRole"))
    iam = berth.client("iam")
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(trust_user(f"arn:aws:iam::{ACCOUNT}:user/erin")))
    sts = berth.client("sts", creds=erin)
    arn = f"arn:aws:iam::{ACCOUNT}:role/r"
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=arn, RoleSessionName="bad name!")
    assert error_code(e.value) == "ValidationError"
    assert "at 'roleSessionName' failed to satisfy constraint" in error_message(e.value)
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=arn, RoleSessionName="ok", DurationSeconds=7200)
    assert error_message(e.value) == "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=arn, RoleSessionName="ok", Policy="{not json")
    assert error_code(e.value) == "MalformedPolicyDocument"
    # A session policy narrows the session: the role allows GetRole and ListRoles, the session
    # policy only GetRole, so the session may GetRole and nothing else.
    iam.put_role_policy(RoleName="r", PolicyName="p", PolicyDocument=json.dumps(allow(["iam:GetRole", "iam:ListRoles"])))
    resp = sts.assume_role(
        RoleArn=arn, RoleSessionName="narrow", Policy=json.dumps(allow("iam:GetRole")), DurationSeconds=900
    )
    assert 0 < resp["PackedPolicySize"] <= 100
    c = resp["Credentials"]
    narrow = berth.client("iam", creds=Creds(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]))
    assert narrow.get_role(RoleName="r")["Role"]["Arn"] == arn
    with pytest.raises(ClientError) as e:
        narrow.list_roles()
    assert error_code(e.value) == "AccessDenied"
    message = error_message(e.value)
    assert message.startswith(
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/r/narrow is not authorized to perform: iam:ListRoles on resource: "
    ), message
    assert message.endswith(" because no session policy allows the iam:ListRoles action"), message
    # Without the session policy, the same role's session may ListRoles.
    c = sts.assume_role(RoleArn=arn, RoleSessionName="wide", DurationSeconds=900)["Credentials"]
    wide = berth.client("iam", creds=Creds(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]))
    assert arn in [r["Arn"] for r in wide.list_roles()["Roles"]]


def test_expired_session_credentials_are_refused(berth_factory):
    b = berth_factory()
    frank = user_creds(b, "frank", allow("sts:AssumeRole"))
    b.client("iam").create_role(
        RoleName="short", AssumeRolePolicyDocument=json.dumps(trust_user(f"arn:aws:iam::{ACCOUNT}:user/frank"))
    )
    c = b.client("sts", creds=frank).assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/short", RoleSessionName="s0", DurationSeconds=900
    )["Credentials"]
    session = Creds(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    assert b.client("sts", creds=session).get_caller_identity()["Account"] == ACCOUNT
    b.stop()
    # The same data, 16 minutes later.
    later = berth_factory(name="data", env_extra={"BERTH_CLOCK_OFFSET_SECS": "960"})
    code, out, err = later.aws("sts", "get-caller-identity", creds=session)
    assert code == 255
    assert "An error occurred (ExpiredToken) when calling the GetCallerIdentity operation: The security token included in the request is expired" in err
    with pytest.raises(ClientError) as e:
        later.client("ecs", creds=session).list_clusters()
    assert error_code(e.value) == "ExpiredTokenException"
