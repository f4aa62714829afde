"""Managed session policies: AssumeRole's `PolicyArns` narrows the session, alone or with an
inline `Policy`, and is checked as AWS checks it."""

import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import Creds, error_code, error_message
from helpers import allow, trust_user, user_creds

ACCOUNT = "000000000000"
ECS_EXEC_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"


def setup_role(berth, role="vault", role_policy=None, alice_policy=None):
    """User alice may assume `role`, whose own policy allows all of Secrets Manager; a secret
    `db` exists. Returns alice's credentials and the role's ARN."""
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/{role}"
    alice = user_creds(berth, "alice", alice_policy or allow("sts:AssumeRole", role_arn))
    iam = berth.client("iam")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust_user(f"arn:aws:iam::{ACCOUNT}:user/alice")))
    iam.put_role_policy(RoleName=role, PolicyName="all", PolicyDocument=json.dumps(role_policy or allow("secretsmanager:*")))
    berth.client("secretsmanager").create_secret(Name="db", SecretString="s3cret")
    return alice, role_arn


def managed(berth, name, policy):
    return berth.client("iam").create_policy(PolicyName=name, PolicyDocument=json.dumps(policy))["Policy"]["Arn"]


def session(resp):
    c = resp["Credentials"]
    return Creds(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])


def denied_by_session_policy(call, action):
    with pytest.raises(ClientError) as e:
        call()
    # Secrets Manager's code is AccessDeniedException, STS's AccessDenied.
    assert error_code(e.value).startswith("AccessDenied")
    message = error_message(e.value)
    assert f"is not authorized to perform: {action} on resource: " in message, message
    assert message.endswith(f"because no session policy allows the {action} action"), message


def test_policy_arns_narrow_the_session(berth):
    alice, role_arn = setup_role(berth)
    describe = managed(berth, "describe-only", allow("secretsmanager:DescribeSecret"))
    resp = berth.client("sts", creds=alice).assume_role(
        RoleArn=role_arn, RoleSessionName="narrow", PolicyArns=[{"arn": describe}]
    )
    sm = berth.client("secretsmanager", creds=session(resp))
    assert sm.describe_secret(SecretId="db")["Name"] == "db"
    denied_by_session_policy(lambda: sm.get_secret_value(SecretId="db"), "secretsmanager:GetSecretValue")
    assert 0 < resp["PackedPolicySize"] <= 100
    # Without session policies the role's full permissions apply.
    full = session(berth.client("sts", creds=alice).assume_role(RoleArn=role_arn, RoleSessionName="full"))
    assert berth.client("secretsmanager", creds=full).get_secret_value(SecretId="db")["SecretString"] == "s3cret"


def test_inline_and_managed_session_policies_together(berth):
    alice, role_arn = setup_role(berth)
    describe = managed(berth, "describe-only", allow("secretsmanager:DescribeSecret"))
    resp = berth.client("sts", creds=alice).assume_role(
        RoleArn=role_arn,
        RoleSessionName="both",
        # GetSecretValue decrypts with the account's aws/secretsmanager key, whose key policy
        # grants through the service to anyone of the account: the session policy limits that.
        Policy=json.dumps(allow(["secretsmanager:GetSecretValue", "kms:Decrypt"])),
        PolicyArns=[{"arn": describe}, {"arn": ECS_EXEC_POLICY}],
    )
    sm = berth.client("secretsmanager", creds=session(resp))
    # What either allows works (within the role's own permissions).
    assert sm.describe_secret(SecretId="db")["Name"] == "db"
    assert sm.get_secret_value(SecretId="db")["SecretString"] == "s3cret"
    denied_by_session_policy(lambda: sm.delete_secret(SecretId="db"), "secretsmanager:DeleteSecret")
    # A Deny in any session policy wins over another's Allow.
    no_get = managed(berth, "no-get", {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}],
    })
    resp = berth.client("sts", creds=alice).assume_role(
        RoleArn=role_arn,
        RoleSessionName="deny",
        Policy=json.dumps(allow("secretsmanager:*")),
        PolicyArns=[{"arn": no_get}],
    )
    sm = berth.client("secretsmanager", creds=session(resp))
    assert sm.describe_secret(SecretId="db")["Name"] == "db"
    with pytest.raises(ClientError) as e:
        sm.get_secret_value(SecretId="db")
    assert error_message(e.value).endswith("with an explicit deny in a session policy")


def test_an_aws_managed_session_policy(berth):
    alice, role_arn = setup_role(berth)
    resp = berth.client("sts", creds=alice).assume_role(
        RoleArn=role_arn, RoleSessionName="ecs", PolicyArns=[{"arn": ECS_EXEC_POLICY}]
    )
    sm = berth.client("secretsmanager", creds=session(resp))
    denied_by_session_policy(lambda: sm.describe_secret(SecretId="db"), "secretsmanager:DescribeSecret")


def test_chained_sessions_with_policy_arns(berth):
    # The first role may assume the second; its session is narrowed to just that.
    second = f"arn:aws:iam::{ACCOUNT}:role/second"
    alice, first = setup_role(berth, role="first", role_policy={
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": second},
            {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"},
        ],
    })
    iam = berth.client("iam")
    iam.create_role(RoleName="second", AssumeRolePolicyDocument=json.dumps(trust_user(first)))
    iam.put_role_policy(RoleName="second", PolicyName="all", PolicyDocument=json.dumps(allow("secretsmanager:*")))
    only_assume = managed(berth, "only-assume", allow("sts:AssumeRole"))
    describe = managed(berth, "describe-only", allow("secretsmanager:DescribeSecret"))
    s1 = session(berth.client("sts", creds=alice).assume_role(
        RoleArn=first, RoleSessionName="hop1", PolicyArns=[{"arn": only_assume}]
    ))
    denied_by_session_policy(
        lambda: berth.client("secretsmanager", creds=s1).describe_secret(SecretId="db"), "secretsmanager:DescribeSecret"
    )
    s2 = session(berth.client("sts", creds=s1).assume_role(
        RoleArn=second, RoleSessionName="hop2", PolicyArns=[{"arn": describe}]
    ))
    assert berth.client("sts", creds=s2).get_caller_identity()["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/second/hop2"
    sm = berth.client("secretsmanager", creds=s2)
    assert sm.describe_secret(SecretId="db")["Name"] == "db"
    denied_by_session_policy(lambda: sm.get_secret_value(SecretId="db"), "secretsmanager:GetSecretValue")


def test_policy_arns_are_validated(berth):
    alice, role_arn = setup_role(berth)
    describe = managed(berth, "describe-only", allow("secretsmanager:DescribeSecret"))
    sts = berth.client("sts", creds=alice)

    def refused(**kw):
        with pytest.raises(ClientError) as e:
            sts.assume_role(RoleArn=role_arn, RoleSessionName="bad", **kw)
        return error_code(e.value), error_message(e.value)

    assert refused(PolicyArns=[{"arn": describe}] * 11) == (
        "ValidationError",
        "1 validation error detected: Value at 'policyArns' failed to satisfy constraint: "
        "Member must have length less than or equal to 10",
    )
    missing = f"arn:aws:iam::{ACCOUNT}:policy/nope"
    assert refused(PolicyArns=[{"arn": describe}, {"arn": missing}]) == (
        "ValidationError",
        f"Policy {missing} does not exist or is not attachable.",
    )
    assert refused(PolicyArns=[{"arn": role_arn}]) == ("ValidationError", f"ARN {role_arn} is not valid.")
    # botocore checks the ARN's length itself; a client without that check reaches berth.
    raw = boto3.client(
        "sts", endpoint_url=berth.endpoint, region_name="us-east-1",
        aws_access_key_id=alice.access_key_id, aws_secret_access_key=alice.secret_access_key,
        config=Config(retries={"max_attempts": 1}, parameter_validation=False),
    )
    with pytest.raises(ClientError) as e:
        raw.assume_role(RoleArn=role_arn, RoleSessionName="bad", PolicyArns=[{"arn": "arn:aws:iam::1:p"}])
    code, message = error_code(e.value), error_message(e.value)
    assert code == "ValidationError"
    assert message == (
        "1 validation error detected: Value 'arn:aws:iam::1:p' at 'policyArns.1.member.arn' failed to satisfy "
        "constraint: Member must have length greater than or equal to 20"
    )
    # The inline policy and the ARNs count together against the packed limit.
    statement = {"Effect": "Allow", "Action": "secretsmanager:DescribeSecret",
                 "Resource": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:a"}
    big = json.dumps({"Version": "2012-10-17", "Statement": [statement] * 15}, separators=(",", ":"))
    assert len(big) <= 2048
    assert sts.assume_role(RoleArn=role_arn, RoleSessionName="big", Policy=big)["PackedPolicySize"] <= 100
    code, message = refused(Policy=big, PolicyArns=[{"arn": describe}] * 10)
    assert code == "PackedPolicyTooLarge"
    assert message.startswith("Packed policy consumes ")
    assert message.endswith("% of allotted space, please use smaller policy.")
