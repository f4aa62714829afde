"""Policy documents held to AWS's size limits at every entry point (KMS key policies, Secrets
Manager resource policies, IAM inline, managed and trust policies, STS session policies), and
iam:PassRole decided on the role as IAM stores it, whatever the case of the ARN a task names."""

import json

import pytest
from botocore.exceptions import ClientError

from conftest import error_code, error_message
from helpers import user_creds

ACCOUNT = "000000000000"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
TRUST_ECS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
}


def client_error(fn, **kwargs):
    with pytest.raises(ClientError) as e:
        fn(**kwargs)
    return error_code(e.value), error_message(e.value)


def padded(doc: dict, size: int) -> str:
    """`doc` as JSON, padded with trailing white space to exactly `size` characters."""
    text = json.dumps(doc)
    assert len(text) <= size
    return text + " " * (size - len(text))


def key_policy(statements: int) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": f"s{i}", "Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"}
            for i in range(statements)
        ],
    }


def identity_policy(statements: int) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::bucket-{i}/*"}
            for i in range(statements)
        ],
    }


def compact_len(doc: dict) -> int:
    return len("".join(json.dumps(doc).split()))


# ---- KMS ------------------------------------------------------------------------------------


def test_key_policies_are_held_to_32_kb(berth):
    kms = berth.client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    # 32,768 bytes fit; one more is LimitExceededException, at CreateKey and PutKeyPolicy.
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=padded(key_policy(1), 32_768))
    assert len(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"]) == 32_768
    code, _ = client_error(kms.put_key_policy, KeyId=key, PolicyName="default",
                           Policy=padded(key_policy(1), 32_769))
    assert code == "LimitExceededException"
    code, _ = client_error(kms.create_key, Policy=padded(key_policy(1), 32_769))
    assert code == "LimitExceededException"
    # Many statements, well past 32 KB.
    many = json.dumps(key_policy(500))
    assert len(many) > 40_000
    code, _ = client_error(kms.put_key_policy, KeyId=key, PolicyName="default", Policy=many)
    assert code == "LimitExceededException"
    # The key keeps the last policy that fit, and no key was created.
    assert len(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"]) == 32_768
    assert len(kms.list_keys()["Keys"]) == 1
    # Past the model's 131,072 characters: ValidationException with AWS's text.
    code, msg = client_error(kms.put_key_policy, KeyId=key, PolicyName="default",
                             Policy=padded(key_policy(1), 131_073))
    assert (code, msg) == ("ValidationException",
                           "1 validation error detected: Value at 'policy' failed to satisfy constraint: "
                           "Member must have length less than or equal to 131072")
    # Characters past U+00FF are outside the model's pattern.
    code, msg = client_error(kms.create_key, Policy=json.dumps(key_policy(1)).replace("s0", "s0\u263a"))
    assert code == "ValidationException" and "Member must satisfy regular expression pattern" in msg


def test_an_oversized_key_policy_is_refused_before_authorisation(berth):
    # A caller without kms:PutKeyPolicy learns of the size first, as AWS validates the request
    # before it authorises it.
    kms = berth.client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    nobody = berth.client("kms", creds=user_creds(berth, "nobody"))
    code, _ = client_error(nobody.put_key_policy, KeyId=key, PolicyName="default",
                           Policy=padded(key_policy(1), 131_073))
    assert code == "ValidationException"
    code, _ = client_error(nobody.put_key_policy, KeyId=key, PolicyName="default",
                           Policy=json.dumps(key_policy(1)))
    assert code == "AccessDeniedException"


# ---- Secrets Manager ------------------------------------------------------------------------


def test_secret_resource_policies_are_held_to_20480_characters(berth):
    sm = berth.client("secretsmanager")
    sm.create_secret(Name="limits", SecretString="v")
    doc = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}
    sm.put_resource_policy(SecretId="limits", ResourcePolicy=padded(doc, 20_480))
    code, msg = client_error(sm.put_resource_policy, SecretId="limits", ResourcePolicy=padded(doc, 20_481))
    assert (code, msg) == ("ValidationException",
                           "1 validation error detected: Value at 'resourcePolicy' failed to satisfy constraint: "
                           "Member must have length less than or equal to 20480")
    code, _ = client_error(sm.validate_resource_policy, ResourcePolicy=padded(doc, 20_481))
    assert code == "ValidationException"
    assert len(sm.get_resource_policy(SecretId="limits")["ResourcePolicy"]) == 20_480


# ---- IAM and STS ----------------------------------------------------------------------------


def test_iam_policies_are_held_to_their_quotas(berth):
    iam = berth.client("iam")
    iam.create_user(UserName="u")
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(TRUST_ECS))
    user_sized = identity_policy(40)
    assert compact_len(user_sized) > 2048
    code, msg = client_error(iam.put_user_policy, UserName="u", PolicyName="p",
                             PolicyDocument=json.dumps(user_sized))
    assert (code, msg) == ("LimitExceeded", "Maximum policy size of 2048 bytes exceeded for user u")
    role_sized = identity_policy(200)
    assert compact_len(role_sized) > 10_240
    code, msg = client_error(iam.put_role_policy, RoleName="r", PolicyName="p",
                             PolicyDocument=json.dumps(role_sized))
    assert (code, msg) == ("LimitExceeded", "Maximum policy size of 10240 bytes exceeded for role r")
    managed_sized = identity_policy(120)
    assert compact_len(managed_sized) > 6144
    code, msg = client_error(iam.create_policy, PolicyName="big", PolicyDocument=json.dumps(managed_sized))
    assert (code, msg) == ("LimitExceeded", "Cannot exceed quota for PolicySize: 6144")
    trust = {"Version": "2012-10-17", "Statement": TRUST_ECS["Statement"] * 40}
    assert compact_len(trust) > 2048
    code, msg = client_error(iam.update_assume_role_policy, RoleName="r", PolicyDocument=json.dumps(trust))
    assert (code, msg) == ("LimitExceeded", "Cannot exceed quota for ACLSizePerRole: 2048")
    code, _ = client_error(iam.create_role, RoleName="r2", AssumeRolePolicyDocument=json.dumps(trust))
    assert code == "LimitExceeded"
    # Past the model's 131,072 characters: ValidationError.
    code, msg = client_error(iam.put_user_policy, UserName="u", PolicyName="p",
                             PolicyDocument=padded(identity_policy(1), 131_073))
    assert code == "ValidationError"
    assert "Member must have length less than or equal to 131072" in msg


def test_session_policies_are_held_to_2048_characters(berth):
    iam = berth.client("iam")
    creds = user_creds(berth, "assumer", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]})
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/assumer"}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName="session", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    sts = berth.client("sts", creds=creds)
    ok = sts.assume_role(RoleArn=role, RoleSessionName="s1", Policy=padded(identity_policy(1), 2048))
    assert ok["PackedPolicySize"] > 0
    code, msg = client_error(sts.assume_role, RoleArn=role, RoleSessionName="s1",
                             Policy=padded(identity_policy(1), 2049))
    assert code == "ValidationError"
    assert "Member must have length less than or equal to 2048" in msg


# ---- iam:PassRole on the role as stored -----------------------------------------------------


def test_pass_role_is_decided_on_the_role_whatever_the_case_it_is_named_in(berth):
    iam = berth.client("iam")
    canonical = iam.create_role(RoleName="admin-exec-role",
                                AssumeRolePolicyDocument=json.dumps(TRUST_ECS))["Role"]["Arn"]
    assert canonical == f"arn:aws:iam::{ACCOUNT}:role/admin-exec-role"
    root = berth.client("ecs")
    root.create_cluster()
    container = [{"name": "app", "image": "busybox", "memory": 64}]
    root.register_task_definition(family="shouted", containerDefinitions=container,
                                  executionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/ADMIN-EXEC-ROLE")
    root.register_task_definition(family="plain", containerDefinitions=container)
    root.register_task_definition(family="ghost", containerDefinitions=container,
                                  executionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/GHOST-ROLE")
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ecs:*", "iam:PassRole"], "Resource": "*"},
        {"Effect": "Deny", "Action": "iam:PassRole", "Resource": canonical},
    ]}
    ecs = berth.client("ecs", creds=user_creds(berth, "deployer", policy))
    denied = (f"User: arn:aws:iam::{ACCOUNT}:user/deployer is not authorized to perform: iam:PassRole "
              f"on resource: {canonical} with an explicit deny in an identity-based policy")
    # The task definition names the role in capitals: the Deny on its own ARN holds.
    code, msg = client_error(ecs.run_task, taskDefinition="shouted")
    assert (code, msg) == ("AccessDeniedException", denied)
    # So does an override naming it by a name of another case.
    code, msg = client_error(ecs.run_task, taskDefinition="plain",
                             overrides={"executionRoleArn": "Admin-Exec-Role"})
    assert (code, msg) == ("AccessDeniedException", denied)
    code, msg = client_error(ecs.start_task, taskDefinition="shouted", containerInstances=["x"])
    assert (code, msg) == ("AccessDeniedException", denied)
    assert ecs.list_tasks()["taskArns"] == []
    # A role that does not exist is authorised as written: the call gets past iam:PassRole (and
    # fails for want of an instance to place the task on).
    code, msg = client_error(ecs.run_task, taskDefinition="ghost")
    assert code != "AccessDeniedException", msg
    assert "No Container Instances were found in your cluster." in msg
