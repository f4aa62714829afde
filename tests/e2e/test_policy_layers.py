"""The policy layers that narrow an identity's own permissions, each shown to decide on its own:
a permissions boundary (of a user, of a role), an AssumeRole session policy (inline `Policy`,
managed `PolicyArns`) and a chained role session's session policy. Every denial here comes from
that one layer alone: the identity policy allows the call, and the same call succeeds when only
the layer changes."""

import json

import pytest
from botocore.exceptions import ClientError

from conftest import Creds, error_code, error_message
from helpers import allow, trust_user, user_creds

ACCOUNT = "000000000000"
GET = "secretsmanager:GetSecretValue"
DESCRIBE = "secretsmanager:DescribeSecret"
# GetSecretValue also decrypts under the account's aws/secretsmanager key: a policy that is to
# let it through allows kms:Decrypt too.
READ = [DESCRIBE, GET, "kms:Decrypt"]
# A role's own policy: all of Secrets Manager, and the decryption reads need.
ROLE_POLICY = allow(["secretsmanager:*", "kms:Decrypt"])


def managed(berth, name, policy):
    return berth.client("iam").create_policy(PolicyName=name, PolicyDocument=json.dumps(policy))["Policy"]["Arn"]


def deny(actions):
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": actions, "Resource": "*"}]}


def session(resp):
    c = resp["Credentials"]
    return Creds(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])


def secret(berth):
    berth.client("secretsmanager").create_secret(Name="db", SecretString="s3cret")


def assert_denied(call, principal_arn, action, ending):
    """`call` fails with Secrets Manager's AccessDeniedException and AWS's full message for
    `principal_arn` and `action` on secret `db`, ending with `ending`."""
    with pytest.raises(ClientError) as e:
        call()
    assert error_code(e.value) == "AccessDeniedException", e.value.response
    assert error_message(e.value) == (
        f"User: {principal_arn} is not authorized to perform: {action} on resource: db {ending}"
    )


def no_layer_allows(layer, action):
    return f"because no {layer} allows the {action} action"


def reads(berth, creds):
    """Describes and reads secret `db` as `creds`."""
    sm = berth.client("secretsmanager", creds=creds)
    assert sm.describe_secret(SecretId="db")["Name"] == "db"
    return sm.get_secret_value(SecretId="db")["SecretString"]


# ---------------------------------------------------------------------------------------------
# Permissions boundaries
# ---------------------------------------------------------------------------------------------


def test_a_users_permissions_boundary_limits_its_identity_policy(berth):
    secret(berth)
    describe_only = managed(berth, "describe-only", allow(DESCRIBE))
    readable = managed(berth, "read", allow(READ))
    iam = berth.client("iam")
    # Two users with the same identity policy, differing only in their boundaries.
    iam.create_user(UserName="bounded", PermissionsBoundary=describe_only)
    iam.create_user(UserName="wider", PermissionsBoundary=readable)
    creds = {}
    for name in ("bounded", "wider"):
        iam.put_user_policy(UserName=name, PolicyName="read", PolicyDocument=json.dumps(allow(READ)))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        creds[name] = Creds(key["AccessKeyId"], key["SecretAccessKey"])
    assert iam.get_user(UserName="bounded")["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == describe_only

    sm = berth.client("secretsmanager", creds=creds["bounded"])
    assert sm.describe_secret(SecretId="db")["Name"] == "db"
    assert_denied(
        lambda: sm.get_secret_value(SecretId="db"),
        f"arn:aws:iam::{ACCOUNT}:user/bounded",
        GET,
        no_layer_allows("permissions boundary", GET),
    )
    # The boundary that allows it lets the same identity policy through.
    assert reads(berth, creds["wider"]) == "s3cret"

    # An explicit Deny in a boundary is named as the boundary's.
    iam.create_user(UserName="denied", PermissionsBoundary=managed(berth, "all-but-get", {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": GET, "Resource": "*"},
        ],
    }))
    iam.put_user_policy(UserName="denied", PolicyName="read", PolicyDocument=json.dumps(allow(READ)))
    key = iam.create_access_key(UserName="denied")["AccessKey"]
    denied = berth.client("secretsmanager", creds=Creds(key["AccessKeyId"], key["SecretAccessKey"]))
    assert denied.describe_secret(SecretId="db")["Name"] == "db"
    assert_denied(
        lambda: denied.get_secret_value(SecretId="db"),
        f"arn:aws:iam::{ACCOUNT}:user/denied",
        GET,
        "with an explicit deny in a permissions boundary",
    )


def test_a_roles_permissions_boundary_limits_its_sessions(berth):
    secret(berth)
    describe_only = managed(berth, "describe-only", allow(DESCRIBE))
    readable = managed(berth, "read", allow(READ))
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/bounded"
    alice = user_creds(berth, "alice", allow("sts:AssumeRole", role_arn))
    iam = berth.client("iam")
    iam.create_role(
        RoleName="bounded",
        AssumeRolePolicyDocument=json.dumps(trust_user(f"arn:aws:iam::{ACCOUNT}:user/alice")),
        PermissionsBoundary=describe_only,
    )
    iam.put_role_policy(RoleName="bounded", PolicyName="all", PolicyDocument=json.dumps(ROLE_POLICY))

    # No session policy: only the role's policy and its boundary are in play.
    s = session(berth.client("sts", creds=alice).assume_role(RoleArn=role_arn, RoleSessionName="sess"))
    sm = berth.client("secretsmanager", creds=s)
    assert sm.describe_secret(SecretId="db")["Name"] == "db"
    assert_denied(
        lambda: sm.get_secret_value(SecretId="db"),
        f"arn:aws:sts::{ACCOUNT}:assumed-role/bounded/sess",
        GET,
        no_layer_allows("permissions boundary", GET),
    )
    # Widening the boundary alone lets the same session read the secret.
    iam.put_role_permissions_boundary(RoleName="bounded", PermissionsBoundary=readable)
    assert reads(berth, s) == "s3cret"
    # And narrowing it again takes it away.
    iam.put_role_permissions_boundary(RoleName="bounded", PermissionsBoundary=describe_only)
    assert_denied(
        lambda: sm.get_secret_value(SecretId="db"),
        f"arn:aws:sts::{ACCOUNT}:assumed-role/bounded/sess",
        GET,
        no_layer_allows("permissions boundary", GET),
    )


# ---------------------------------------------------------------------------------------------
# AssumeRole session policies
# ---------------------------------------------------------------------------------------------


def setup_role(berth, role="vault", role_policy=None):
    """User alice may assume `role`, whose own policy allows Secrets Manager and kms:Decrypt (no
    boundary); secret `db` exists. Returns alice's credentials and the role's ARN."""
    secret(berth)
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/{role}"
    alice = user_creds(berth, "alice", allow("sts:AssumeRole", role_arn))
    iam = berth.client("iam")
    trust = trust_user(f"arn:aws:iam::{ACCOUNT}:user/alice")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(
        RoleName=role, PolicyName="all",
        PolicyDocument=json.dumps(role_policy or ROLE_POLICY),
    )
    return alice, role_arn


def test_an_inline_session_policy_narrows_the_role(berth):
    alice, role_arn = setup_role(berth)
    sts = berth.client("sts", creds=alice)
    narrow = session(sts.assume_role(RoleArn=role_arn, RoleSessionName="narrow", Policy=json.dumps(allow(DESCRIBE))))
    sm = berth.client("secretsmanager", creds=narrow)
    assert sm.describe_secret(SecretId="db")["Name"] == "db"
    assert_denied(
        lambda: sm.get_secret_value(SecretId="db"),
        f"arn:aws:sts::{ACCOUNT}:assumed-role/vault/narrow",
        GET,
        no_layer_allows("session policy", GET),
    )
    # The same role, with a session policy that allows the read (or with none), reads it.
    wide = session(sts.assume_role(RoleArn=role_arn, RoleSessionName="wide", Policy=json.dumps(allow(READ))))
    assert reads(berth, wide) == "s3cret"
    assert reads(berth, session(sts.assume_role(RoleArn=role_arn, RoleSessionName="none"))) == "s3cret"
    # An explicit Deny in the session policy wins over its own Allow and the role's.
    denying = session(sts.assume_role(RoleArn=role_arn, RoleSessionName="deny", Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": GET, "Resource": "*"},
        ],
    })))
    sm = berth.client("secretsmanager", creds=denying)
    assert sm.describe_secret(SecretId="db")["Name"] == "db"
    assert_denied(
        lambda: sm.get_secret_value(SecretId="db"),
        f"arn:aws:sts::{ACCOUNT}:assumed-role/vault/deny",
        GET,
        "with an explicit deny in a session policy",
    )


def test_managed_session_policies_narrow_the_role(berth):
    alice, role_arn = setup_role(berth)
    sts = berth.client("sts", creds=alice)
    describe_only = managed(berth, "describe-only", allow(DESCRIBE))
    readable = managed(berth, "read", allow(READ))
    no_get = managed(berth, "no-get", deny(GET))
    everything = managed(berth, "everything", allow("*"))

    narrow = session(sts.assume_role(RoleArn=role_arn, RoleSessionName="narrow", PolicyArns=[{"arn": describe_only}]))
    sm = berth.client("secretsmanager", creds=narrow)
    assert sm.describe_secret(SecretId="db")["Name"] == "db"
    assert_denied(
        lambda: sm.get_secret_value(SecretId="db"),
        f"arn:aws:sts::{ACCOUNT}:assumed-role/vault/narrow",
        GET,
        no_layer_allows("session policy", GET),
    )
    wide = session(sts.assume_role(RoleArn=role_arn, RoleSessionName="wide", PolicyArns=[{"arn": readable}]))
    assert reads(berth, wide) == "s3cret"
    # A managed session policy's Deny wins over another's Allow.
    denying = session(sts.assume_role(
        RoleArn=role_arn, RoleSessionName="deny", PolicyArns=[{"arn": everything}, {"arn": no_get}]
    ))
    sm = berth.client("secretsmanager", creds=denying)
    assert sm.describe_secret(SecretId="db")["Name"] == "db"
    assert_denied(
        lambda: sm.get_secret_value(SecretId="db"),
        f"arn:aws:sts::{ACCOUNT}:assumed-role/vault/deny",
        GET,
        "with an explicit deny in a session policy",
    )


# ---------------------------------------------------------------------------------------------
# Role chaining
# ---------------------------------------------------------------------------------------------

CHAINED_LIMIT = "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."


def setup_chain(berth):
    """alice may assume role `first`, which may assume role `second`; `second` allows Secrets
    Manager and kms:Decrypt and has a 12-hour MaxSessionDuration. Returns alice's credentials,
    a session of `first` and `second`'s ARN."""
    second = f"arn:aws:iam::{ACCOUNT}:role/second"
    alice, first = setup_role(berth, role="first", role_policy=allow("sts:AssumeRole", second))
    iam = berth.client("iam")
    iam.create_role(
        RoleName="second",
        AssumeRolePolicyDocument=json.dumps(trust_user(first)),
        MaxSessionDuration=43200,
    )
    iam.put_role_policy(RoleName="second", PolicyName="all", PolicyDocument=json.dumps(ROLE_POLICY))
    # `second`'s trust names `first` by role ARN, so alice reaches it only through `first`.
    s1 = session(berth.client("sts", creds=alice).assume_role(RoleArn=first, RoleSessionName="hop1"))
    return alice, s1, second


def test_a_chained_sessions_policy_narrows_the_second_role(berth):
    _, s1, second = setup_chain(berth)
    sts = berth.client("sts", creds=s1)
    narrow = session(sts.assume_role(RoleArn=second, RoleSessionName="narrow", Policy=json.dumps(allow(DESCRIBE))))
    narrow_arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/second/narrow"
    assert berth.client("sts", creds=narrow).get_caller_identity()["Arn"] == narrow_arn
    sm = berth.client("secretsmanager", creds=narrow)
    assert sm.describe_secret(SecretId="db")["Name"] == "db"
    assert_denied(
        lambda: sm.get_secret_value(SecretId="db"),
        narrow_arn,
        GET,
        no_layer_allows("session policy", GET),
    )
    # The same chained hop with a session policy that allows the read, or with none, reads it.
    readable = managed(berth, "read", allow(READ))
    wide = session(sts.assume_role(RoleArn=second, RoleSessionName="wide", PolicyArns=[{"arn": readable}]))
    assert reads(berth, wide) == "s3cret"
    assert reads(berth, session(sts.assume_role(RoleArn=second, RoleSessionName="none"))) == "s3cret"
    # The first hop's own session has no Secrets Manager permissions at all (its role's policy
    # allows only sts:AssumeRole): the second hop's permissions are `second`'s, not `first`'s.
    assert_denied(
        lambda: berth.client("secretsmanager", creds=s1).describe_secret(SecretId="db"),
        f"arn:aws:sts::{ACCOUNT}:assumed-role/first/hop1",
        DESCRIBE,
        no_layer_allows("identity-based policy", DESCRIBE),
    )


def test_a_chained_session_lasts_at_most_one_hour(berth):
    alice, s1, second = setup_chain(berth)
    # Assumed by a user, `second` may last up to its MaxSessionDuration …
    berth.client("iam").update_assume_role_policy(
        RoleName="second",
        PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:aws:iam::{ACCOUNT}:role/first", f"arn:aws:iam::{ACCOUNT}:user/alice"]},
                "Action": "sts:AssumeRole",
            }],
        }),
    )
    berth.client("iam").put_user_policy(
        UserName="alice", PolicyName="p",
        PolicyDocument=json.dumps(allow("sts:AssumeRole", [f"arn:aws:iam::{ACCOUNT}:role/first", second])),
    )
    direct = berth.client("sts", creds=alice).assume_role(
        RoleArn=second, RoleSessionName="direct", DurationSeconds=7200
    )
    assert direct["Credentials"]["AccessKeyId"].startswith("ASIA")
    # … but by a role session, an hour at most, in AWS's words.
    sts = berth.client("sts", creds=s1)
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=second, RoleSessionName="long", DurationSeconds=3601)
    assert error_code(e.value) == "ValidationError"
    assert error_message(e.value) == CHAINED_LIMIT
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # An hour exactly is accepted, and the credentials say so.
    ok = sts.assume_role(RoleArn=second, RoleSessionName="hour", DurationSeconds=3600)
    lasts = ok["Credentials"]["Expiration"] - direct["Credentials"]["Expiration"]
    assert -3700 < lasts.total_seconds() < -3500, lasts
