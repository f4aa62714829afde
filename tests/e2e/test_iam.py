"""The IAM API end to end: users, access keys, roles, inline and managed policies, through boto3
and the AWS CLI, with AWS's error codes and messages."""

import datetime
import json

import pytest
from botocore.exceptions import ClientError

from conftest import ROOT_KEY_ID, Creds, error_code, error_message
from helpers import allow, trust_user, user_creds

ACCOUNT = "000000000000"
ECS_EXEC_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
INVALID_TOKEN = "The security token included in the request is invalid."

TRUST_ECS = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def status(exc):
    return exc.response["ResponseMetadata"]["HTTPStatusCode"]


def expect_error(call, code, message, http_status, **kwargs):
    with pytest.raises(ClientError) as e:
        call(**kwargs)
    assert error_code(e.value) == code, e.value.response
    assert error_message(e.value) == message
    assert status(e.value) == http_status
    return e.value


# --- users ---------------------------------------------------------------------------------


def test_user_lifecycle(berth):
    iam = berth.client("iam")
    created = iam.create_user(UserName="bob", Path="/team/", Tags=[{"Key": "env", "Value": "dev"}])["User"]
    assert created["UserName"] == "bob"
    assert created["Path"] == "/team/"
    assert created["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/team/bob"
    assert created["UserId"].startswith("AIDA") and len(created["UserId"]) == 21
    assert isinstance(created["CreateDate"], datetime.datetime)
    assert created["Tags"] == [{"Key": "env", "Value": "dev"}]

    got = iam.get_user(UserName="bob")["User"]
    assert got == created
    # Names compare case-insensitively; the stored spelling comes back.
    assert iam.get_user(UserName="BOB")["User"]["UserName"] == "bob"

    iam.create_user(UserName="carol")
    listed = iam.list_users()
    assert listed["IsTruncated"] is False
    assert [u["UserName"] for u in listed["Users"]] == ["bob", "carol"]
    assert "Tags" not in listed["Users"][0]
    assert [u["UserName"] for u in iam.list_users(PathPrefix="/team/")["Users"]] == ["bob"]
    assert iam.list_users(PathPrefix="/nope/")["Users"] == []

    iam.delete_user(UserName="bob")
    expect_error(iam.get_user, "NoSuchEntity", "The user with name bob cannot be found.", 404, UserName="bob")
    expect_error(iam.delete_user, "NoSuchEntity", "The user with name bob cannot be found.", 404, UserName="bob")


def test_user_errors(berth):
    iam = berth.client("iam")
    iam.create_user(UserName="bob")
    expect_error(iam.create_user, "EntityAlreadyExists", "User with name bob already exists.", 409, UserName="bob")
    # Unique case-insensitively; the message names the name as given.
    expect_error(iam.create_user, "EntityAlreadyExists", "User with name BOB already exists.", 409, UserName="BOB")
    expect_error(
        iam.create_user,
        "ValidationError",
        "The specified value for userName is invalid. It must contain only alphanumeric characters and/or the following: +=,.@_-",
        400,
        UserName="bob smith",
    )
    expect_error(
        iam.create_user,
        "ValidationError",
        "1 validation error detected: Value at 'userName' failed to satisfy constraint: Member must have length less than or equal to 64",
        400,
        UserName="a" * 65,
    )
    expect_error(
        iam.create_user,
        "ValidationError",
        "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.",
        400,
        UserName="dave",
        Path="team",
    )
    expect_error(
        iam.list_users,
        "ValidationError",
        "1 validation error detected: Value at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 1000",
        400,
        MaxItems=1001,
    )
    assert [u["UserName"] for u in iam.list_users()["Users"]] == ["bob"]


def test_users_paginate(berth):
    iam = berth.client("iam")
    names = [f"user{i:02d}" for i in range(5)]
    for n in names:
        iam.create_user(UserName=n)
    first = iam.list_users(MaxItems=2)
    assert first["IsTruncated"] is True
    assert [u["UserName"] for u in first["Users"]] == names[:2]
    second = iam.list_users(MaxItems=2, Marker=first["Marker"])
    assert [u["UserName"] for u in second["Users"]] == names[2:4]
    last = iam.list_users(MaxItems=2, Marker=second["Marker"])
    assert [u["UserName"] for u in last["Users"]] == names[4:]
    assert last["IsTruncated"] is False and "Marker" not in last
    # boto3's paginator follows the markers.
    pages = iam.get_paginator("list_users").paginate(PaginationConfig={"PageSize": 2})
    assert [u["UserName"] for p in pages for u in p["Users"]] == names


def test_user_cli(berth):
    code, out, err = berth.aws("iam", "create-user", "--user-name", "bob", "--path", "/cli/", check=True)
    user = json.loads(out)["User"]
    assert user["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/cli/bob"
    code, out, err = berth.aws("iam", "list-users", check=True)
    assert [u["UserName"] for u in json.loads(out)["Users"]] == ["bob"]
    code, out, err = berth.aws("iam", "get-user", "--user-name", "nobody")
    assert code == 254 or code == 255
    assert (
        "An error occurred (NoSuchEntity) when calling the GetUser operation: The user with name nobody cannot be found."
        in err
    )
    code, out, err = berth.aws("iam", "delete-user", "--user-name", "bob", check=True)
    assert out == ""


def test_get_user_as_root_without_name(berth):
    user = berth.client("iam").get_user()["User"]
    assert user["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert user["UserId"] == ACCOUNT


# --- access keys --------------------------------------------------------------------------


def test_access_key_signs_as_the_user_until_deleted(berth):
    iam = berth.client("iam")
    user = iam.create_user(UserName="bob")["User"]
    key = iam.create_access_key(UserName="bob")["AccessKey"]
    assert key["UserName"] == "bob"
    assert key["AccessKeyId"].startswith("AKIA") and len(key["AccessKeyId"]) == 20
    assert len(key["SecretAccessKey"]) == 40
    assert key["Status"] == "Active"
    bob = Creds(key["AccessKeyId"], key["SecretAccessKey"])

    code, out, err = berth.aws("sts", "get-caller-identity", creds=bob)
    assert code == 0, err
    ident = json.loads(out)
    assert ident == {"UserId": user["UserId"], "Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/bob"}

    listed = iam.list_access_keys(UserName="bob")["AccessKeyMetadata"]
    assert [(k["AccessKeyId"], k["Status"], k["UserName"]) for k in listed] == [(key["AccessKeyId"], "Active", "bob")]
    assert "SecretAccessKey" not in listed[0]

    iam.delete_access_key(UserName="bob", AccessKeyId=key["AccessKeyId"])
    code, out, err = berth.aws("sts", "get-caller-identity", creds=bob)
    assert code == 255
    assert f"An error occurred (InvalidClientTokenId) when calling the GetCallerIdentity operation: {INVALID_TOKEN}" in err
    assert iam.list_access_keys(UserName="bob")["AccessKeyMetadata"] == []


def test_changes_to_a_user_apply_to_its_very_next_call(berth):
    """A change to a user's policies or keys is seen by the very next call, on both protocols,
    however warm the server is (a guard for any cache in front of authentication)."""
    iam = berth.client("iam")
    bob = user_creds(berth, "bob", policy=allow(["iam:ListUsers", "secretsmanager:ListSecrets"]))
    iam_bob = berth.client("iam", creds=bob)
    sm_bob = berth.client("secretsmanager", creds=bob)

    def refused(call):
        with pytest.raises(ClientError) as e:
            call()
        return error_code(e.value)

    for _ in range(5):
        iam_bob.list_users()
        sm_bob.list_secrets()
    iam.delete_user_policy(UserName="bob", PolicyName="p")
    assert refused(iam_bob.list_users) == "AccessDenied"
    assert refused(sm_bob.list_secrets) == "AccessDeniedException"
    iam.put_user_policy(UserName="bob", PolicyName="p", PolicyDocument=json.dumps(allow("secretsmanager:ListSecrets")))
    sm_bob.list_secrets()
    assert refused(iam_bob.list_users) == "AccessDenied"
    iam.delete_access_key(UserName="bob", AccessKeyId=bob.access_key_id)
    assert refused(sm_bob.list_secrets) == "UnrecognizedClientException"
    assert refused(iam_bob.list_users) == "InvalidClientTokenId"


def test_access_key_errors(berth):
    iam = berth.client("iam")
    iam.create_user(UserName="bob")
    expect_error(
        iam.create_access_key, "NoSuchEntity", "The user with name nobody cannot be found.", 404, UserName="nobody"
    )
    k1 = iam.create_access_key(UserName="bob")["AccessKey"]
    iam.create_access_key(UserName="bob")
    expect_error(
        iam.create_access_key, "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2", 409, UserName="bob"
    )
    expect_error(
        iam.delete_access_key,
        "NoSuchEntity",
        "The Access Key with id AKIAIOSFODNN7EXAMPLE cannot be found.",
        404,
        UserName="bob",
        AccessKeyId="AKIAIOSFODNN7EXAMPLE",
    )
    # Another user's key is not found through this one.
    iam.create_user(UserName="carol")
    expect_error(
        iam.delete_access_key,
        "NoSuchEntity",
        f"The Access Key with id {k1['AccessKeyId']} cannot be found.",
        404,
        UserName="carol",
        AccessKeyId=k1["AccessKeyId"],
    )
    expect_error(
        iam.delete_user, "DeleteConflict", "Cannot delete entity, must delete access keys first.", 409, UserName="bob"
    )


def test_root_lists_its_own_keys(berth):
    iam = berth.client("iam")
    keys = iam.list_access_keys()["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [ROOT_KEY_ID]


def test_user_manages_its_own_keys_without_naming_itself(berth):
    me = f"arn:aws:iam::{ACCOUNT}:user/bob"
    bob = user_creds(berth, "bob", allow(["iam:CreateAccessKey", "iam:ListAccessKeys", "iam:DeleteAccessKey"], me))
    iam = berth.client("iam", creds=bob)
    second = iam.create_access_key()["AccessKey"]
    assert second["UserName"] == "bob"
    ids = {k["AccessKeyId"] for k in iam.list_access_keys()["AccessKeyMetadata"]}
    assert ids == {bob.access_key_id, second["AccessKeyId"]}
    iam.delete_access_key(AccessKeyId=second["AccessKeyId"])
    # Another user's keys are another resource.
    berth.client("iam").create_user(UserName="carol")
    with pytest.raises(ClientError) as e:
        iam.list_access_keys(UserName="carol")
    assert error_code(e.value) == "AccessDenied"
    assert error_message(e.value) == (
        f"User: {me} is not authorized to perform: iam:ListAccessKeys on resource: "
        f"arn:aws:iam::{ACCOUNT}:user/carol because no identity-based policy allows the iam:ListAccessKeys action"
    )


def test_role_session_must_name_the_user(berth):
    alice_arn = f"arn:aws:iam::{ACCOUNT}:user/alice"
    alice = user_creds(berth, "alice", allow("sts:AssumeRole"))
    root = berth.client("iam")
    role = root.create_role(RoleName="lister", AssumeRolePolicyDocument=json.dumps(trust_user(alice_arn)))["Role"]
    root.put_role_policy(RoleName="lister", PolicyName="keys", PolicyDocument=json.dumps(allow("iam:ListAccessKeys")))
    c = berth.client("sts", creds=alice).assume_role(RoleArn=role["Arn"], RoleSessionName="s1")["Credentials"]
    session = berth.client("iam", creds=Creds(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]))
    expect_error(
        session.list_access_keys,
        "ValidationError",
        "Must specify userName when calling with non-User credentials",
        400,
    )
    assert len(session.list_access_keys(UserName="alice")["AccessKeyMetadata"]) == 1


# --- user policies ------------------------------------------------------------------------


def test_user_inline_policies(berth):
    iam = berth.client("iam")
    iam.create_user(UserName="bob")
    doc = allow("sts:GetCallerIdentity")
    # Sent with white space and key order of its own: it comes back verbatim.
    text = json.dumps(doc, indent=2)
    iam.put_user_policy(UserName="bob", PolicyName="Self", PolicyDocument=text)
    got = iam.get_user_policy(UserName="bob", PolicyName="Self")
    assert got["UserName"] == "bob"
    assert got["PolicyName"] == "Self"
    assert got["PolicyDocument"] == doc
    assert iam.list_user_policies(UserName="bob")["PolicyNames"] == ["Self"]
    expect_error(
        iam.delete_user, "DeleteConflict", "Cannot delete entity, must delete policies first.", 409, UserName="bob"
    )
    expect_error(
        iam.get_user_policy,
        "NoSuchEntity",
        "The user policy with name Other cannot be found.",
        404,
        UserName="bob",
        PolicyName="Other",
    )
    expect_error(
        iam.put_user_policy,
        "NoSuchEntity",
        "The user with name nobody cannot be found.",
        404,
        UserName="nobody",
        PolicyName="p",
        PolicyDocument=text,
    )
    expect_error(
        iam.put_user_policy,
        "MalformedPolicyDocument",
        "Syntax errors in policy.",
        400,
        UserName="bob",
        PolicyName="bad",
        PolicyDocument='{"Version": "2012-10-17", "Statement": [',
    )
    expect_error(
        iam.put_user_policy,
        "MalformedPolicyDocument",
        "Policy statement must contain actions.",
        400,
        UserName="bob",
        PolicyName="bad",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*"}]}),
    )
    iam.delete_user_policy(UserName="bob", PolicyName="Self")
    assert iam.list_user_policies(UserName="bob")["PolicyNames"] == []
    iam.delete_user(UserName="bob")


def test_user_inline_policy_quota(berth):
    iam = berth.client("iam")
    iam.create_user(UserName="bob")
    actions = [f"s3:GetObjectVersion{i:03d}" for i in range(100)]
    expect_error(
        iam.put_user_policy,
        "LimitExceeded",
        "Maximum policy size of 2048 bytes exceeded for user bob",
        409,
        UserName="bob",
        PolicyName="big",
        PolicyDocument=json.dumps(allow(actions)),
    )
    assert iam.list_user_policies(UserName="bob")["PolicyNames"] == []


def test_user_managed_policies(berth):
    iam = berth.client("iam")
    iam.create_user(UserName="bob")
    policy = iam.create_policy(PolicyName="Reader", PolicyDocument=json.dumps(allow("s3:Get*")))["Policy"]
    iam.attach_user_policy(UserName="bob", PolicyArn=policy["Arn"])
    iam.attach_user_policy(UserName="bob", PolicyArn=ECS_EXEC_POLICY)
    attached = iam.list_attached_user_policies(UserName="bob")["AttachedPolicies"]
    assert sorted((a["PolicyName"], a["PolicyArn"]) for a in attached) == [
        ("AmazonECSTaskExecutionRolePolicy", ECS_EXEC_POLICY),
        ("Reader", policy["Arn"]),
    ]
    assert iam.list_attached_user_policies(UserName="bob", PathPrefix="/service-role/")["AttachedPolicies"] == [
        {"PolicyName": "AmazonECSTaskExecutionRolePolicy", "PolicyArn": ECS_EXEC_POLICY}
    ]
    expect_error(
        iam.delete_user, "DeleteConflict", "Cannot delete entity, must detach all policies first.", 409, UserName="bob"
    )
    missing = f"arn:aws:iam::{ACCOUNT}:policy/nope"
    expect_error(
        iam.attach_user_policy,
        "NoSuchEntity",
        f"Policy {missing} does not exist or is not attachable.",
        404,
        UserName="bob",
        PolicyArn=missing,
    )
    iam.detach_user_policy(UserName="bob", PolicyArn=policy["Arn"])
    expect_error(
        iam.detach_user_policy,
        "NoSuchEntity",
        f"Policy {policy['Arn']} was not found.",
        404,
        UserName="bob",
        PolicyArn=policy["Arn"],
    )
    iam.detach_user_policy(UserName="bob", PolicyArn=ECS_EXEC_POLICY)
    iam.delete_user(UserName="bob")


def test_attached_policy_grants_to_the_user(berth):
    bob = user_creds(berth, "bob")
    iam_bob = berth.client("iam", creds=bob)
    with pytest.raises(ClientError) as e:
        iam_bob.list_users()
    assert error_code(e.value) == "AccessDenied"
    policy = berth.client("iam").create_policy(PolicyName="ListUsers", PolicyDocument=json.dumps(allow("iam:ListUsers")))
    berth.client("iam").attach_user_policy(UserName="bob", PolicyArn=policy["Policy"]["Arn"])
    assert [u["UserName"] for u in iam_bob.list_users()["Users"]] == ["bob"]


# --- roles --------------------------------------------------------------------------------


def test_role_lifecycle(berth):
    iam = berth.client("iam")
    created = iam.create_role(
        RoleName="exec",
        Path="/svc/",
        AssumeRolePolicyDocument=json.dumps(TRUST_ECS),
        Description="task execution",
        Tags=[{"Key": "team", "Value": "a"}],
    )["Role"]
    assert created["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/svc/exec"
    assert created["RoleId"].startswith("AROA")
    assert created["AssumeRolePolicyDocument"] == TRUST_ECS
    assert created["Tags"] == [{"Key": "team", "Value": "a"}]

    got = iam.get_role(RoleName="EXEC")["Role"]
    assert got["RoleName"] == "exec"
    assert got["RoleId"] == created["RoleId"]
    assert got["AssumeRolePolicyDocument"] == TRUST_ECS
    assert got["MaxSessionDuration"] == 3600
    assert got["Description"] == "task execution"
    assert got["Tags"] == [{"Key": "team", "Value": "a"}]
    assert got["RoleLastUsed"] == {}
    assert "PermissionsBoundary" not in got

    listed = iam.list_roles()["Roles"]
    assert [r["RoleName"] for r in listed] == ["exec"]
    assert listed[0]["AssumeRolePolicyDocument"] == TRUST_ECS
    assert "Tags" not in listed[0]
    assert iam.list_roles(PathPrefix="/other/")["Roles"] == []

    new_trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    iam.update_assume_role_policy(RoleName="exec", PolicyDocument=json.dumps(new_trust))
    assert iam.get_role(RoleName="exec")["Role"]["AssumeRolePolicyDocument"] == new_trust

    iam.delete_role(RoleName="exec")
    expect_error(iam.get_role, "NoSuchEntity", "The role with name exec cannot be found.", 404, RoleName="exec")


def test_role_errors(berth):
    iam = berth.client("iam")
    iam.create_role(RoleName="exec", AssumeRolePolicyDocument=json.dumps(TRUST_ECS), MaxSessionDuration=7200)
    assert iam.get_role(RoleName="exec")["Role"]["MaxSessionDuration"] == 7200
    expect_error(
        iam.create_role,
        "EntityAlreadyExists",
        "Role with name Exec already exists.",
        409,
        RoleName="Exec",
        AssumeRolePolicyDocument=json.dumps(TRUST_ECS),
    )
    expect_error(
        iam.create_role,
        "ValidationError",
        "1 validation error detected: Value at 'maxSessionDuration' failed to satisfy constraint: Member must have value less than or equal to 43200",
        400,
        RoleName="long",
        AssumeRolePolicyDocument=json.dumps(TRUST_ECS),
        MaxSessionDuration=50000,
    )
    expect_error(
        iam.update_assume_role_policy,
        "NoSuchEntity",
        "The role with name nope cannot be found.",
        404,
        RoleName="nope",
        PolicyDocument=json.dumps(TRUST_ECS),
    )
    expect_error(
        iam.update_assume_role_policy,
        "MalformedPolicyDocument",
        "This policy contains invalid Json",
        400,
        RoleName="exec",
        PolicyDocument="{nope",
    )
    assert iam.get_role(RoleName="exec")["Role"]["AssumeRolePolicyDocument"] == TRUST_ECS


def test_failed_create_role_leaves_nothing(berth):
    iam = berth.client("iam")
    expect_error(
        iam.create_role,
        "MalformedPolicyDocument",
        "This policy contains invalid Json",
        400,
        RoleName="broken",
        AssumeRolePolicyDocument='{"Version": "2012-10-17", "Statement": [',
    )
    with pytest.raises(ClientError) as e:
        iam.create_role(RoleName="broken", AssumeRolePolicyDocument=json.dumps(allow("s3:*")))
    assert error_code(e.value) == "MalformedPolicyDocument"
    missing = f"arn:aws:iam::{ACCOUNT}:policy/missing-boundary"
    expect_error(
        iam.create_role,
        "NoSuchEntity",
        f"Scope ARN: {missing} does not exist or is not attachable.",
        404,
        RoleName="broken",
        AssumeRolePolicyDocument=json.dumps(TRUST_ECS),
        PermissionsBoundary=missing,
    )
    principals = [f"arn:aws:iam::{ACCOUNT}:user/some-user-number-{i:03d}" for i in range(60)]
    big_trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": principals}, "Action": "sts:AssumeRole"}],
    }
    expect_error(
        iam.create_role,
        "LimitExceeded",
        "Cannot exceed quota for ACLSizePerRole: 2048",
        409,
        RoleName="broken",
        AssumeRolePolicyDocument=json.dumps(big_trust),
    )
    assert iam.list_roles()["Roles"] == []
    expect_error(iam.get_role, "NoSuchEntity", "The role with name broken cannot be found.", 404, RoleName="broken")


def test_roles_paginate(berth):
    iam = berth.client("iam")
    names = ["role-a", "role-b", "role-c", "role-d", "role-e"]
    for n in names:
        iam.create_role(RoleName=n, Path="/p/", AssumeRolePolicyDocument=json.dumps(TRUST_ECS))
    first = iam.list_roles(PathPrefix="/p/", MaxItems=2)
    assert first["IsTruncated"] is True
    rest = iam.list_roles(PathPrefix="/p/", Marker=first["Marker"])
    assert [r["RoleName"] for r in first["Roles"] + rest["Roles"]] == names
    assert rest["IsTruncated"] is False


def test_role_inline_policies(berth):
    iam = berth.client("iam")
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(TRUST_ECS))
    doc = allow("s3:ListBucket", "arn:aws:s3:::example_bucket")
    iam.put_role_policy(RoleName="r", PolicyName="list", PolicyDocument=json.dumps(doc))
    got = iam.get_role_policy(RoleName="r", PolicyName="list")
    assert (got["RoleName"], got["PolicyName"], got["PolicyDocument"]) == ("r", "list", doc)
    assert iam.list_role_policies(RoleName="r")["PolicyNames"] == ["list"]
    expect_error(
        iam.delete_role, "DeleteConflict", "Cannot delete entity, must delete policies first.", 409, RoleName="r"
    )
    expect_error(
        iam.get_role_policy,
        "NoSuchEntity",
        "The role policy with name other cannot be found.",
        404,
        RoleName="r",
        PolicyName="other",
    )
    actions = [f"s3:GetObjectVersion{i:04d}" for i in range(450)]
    expect_error(
        iam.put_role_policy,
        "LimitExceeded",
        "Maximum policy size of 10240 bytes exceeded for role r",
        409,
        RoleName="r",
        PolicyName="big",
        PolicyDocument=json.dumps(allow(actions)),
    )
    iam.delete_role_policy(RoleName="r", PolicyName="list")
    expect_error(
        iam.delete_role_policy,
        "NoSuchEntity",
        "The role policy with name list cannot be found.",
        404,
        RoleName="r",
        PolicyName="list",
    )
    iam.delete_role(RoleName="r")


def test_role_managed_policies_and_the_ecs_execution_policy(berth):
    iam = berth.client("iam")
    iam.create_role(RoleName="exec", AssumeRolePolicyDocument=json.dumps(TRUST_ECS))
    iam.attach_role_policy(RoleName="exec", PolicyArn=ECS_EXEC_POLICY)
    # Attaching twice changes nothing.
    iam.attach_role_policy(RoleName="exec", PolicyArn=ECS_EXEC_POLICY)
    assert iam.list_attached_role_policies(RoleName="exec")["AttachedPolicies"] == [
        {"PolicyName": "AmazonECSTaskExecutionRolePolicy", "PolicyArn": ECS_EXEC_POLICY}
    ]
    assert iam.get_policy(PolicyArn=ECS_EXEC_POLICY)["Policy"]["AttachmentCount"] == 1
    expect_error(
        iam.delete_role, "DeleteConflict", "Cannot delete entity, must detach all policies first.", 409, RoleName="exec"
    )
    expect_error(
        iam.attach_role_policy,
        "ValidationError",
        "Invalid ARN:  Could not be parsed!",
        400,
        RoleName="exec",
        PolicyArn="longpolicynamebutnoarn",
    )
    iam.detach_role_policy(RoleName="exec", PolicyArn=ECS_EXEC_POLICY)
    expect_error(
        iam.detach_role_policy,
        "NoSuchEntity",
        f"Policy {ECS_EXEC_POLICY} was not found.",
        404,
        RoleName="exec",
        PolicyArn=ECS_EXEC_POLICY,
    )
    assert iam.list_attached_role_policies(RoleName="exec")["AttachedPolicies"] == []
    iam.delete_role(RoleName="exec")


def test_role_permissions_boundary(berth):
    iam = berth.client("iam")
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(TRUST_ECS))
    policy = iam.create_policy(PolicyName="Bound", PolicyDocument=json.dumps(allow("s3:*")))["Policy"]
    iam.put_role_permissions_boundary(RoleName="r", PermissionsBoundary=policy["Arn"])
    assert iam.get_role(RoleName="r")["Role"]["PermissionsBoundary"] == {
        "PermissionsBoundaryType": "Policy",
        "PermissionsBoundaryArn": policy["Arn"],
    }
    assert iam.get_policy(PolicyArn=policy["Arn"])["Policy"]["PermissionsBoundaryUsageCount"] == 1
    expect_error(
        iam.delete_policy, "DeleteConflict", "Cannot delete a policy attached to entities.", 409, PolicyArn=policy["Arn"]
    )
    bad = f"arn:aws:iam::{ACCOUNT}:not_a_policy/invalid"
    expect_error(
        iam.put_role_permissions_boundary,
        "InvalidInput",
        f"ARN {bad} is not valid.",
        400,
        RoleName="r",
        PermissionsBoundary=bad,
    )
    expect_error(
        iam.put_role_permissions_boundary,
        "NoSuchEntity",
        "The role with name nope cannot be found.",
        404,
        RoleName="nope",
        PermissionsBoundary=policy["Arn"],
    )


def test_tag_role(berth):
    iam = berth.client("iam")
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(TRUST_ECS))
    iam.tag_role(RoleName="r", Tags=[{"Key": "team", "Value": "a"}, {"Key": "env", "Value": ""}])
    iam.tag_role(RoleName="r", Tags=[{"Key": "Team", "Value": "b"}])
    assert iam.get_role(RoleName="r")["Role"]["Tags"] == [
        {"Key": "Team", "Value": "b"},
        {"Key": "env", "Value": ""},
    ]
    expect_error(
        iam.tag_role,
        "InvalidInput",
        "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
        400,
        RoleName="r",
        Tags=[{"Key": "x", "Value": "1"}, {"Key": "X", "Value": "2"}],
    )
    expect_error(
        iam.tag_role,
        "ValidationError",
        "1 validation error detected: Value at 'tags.1.member.key' failed to satisfy constraint: Member must have length less than or equal to 128",
        400,
        RoleName="r",
        Tags=[{"Key": "k" * 129, "Value": "v"}],
    )
    expect_error(
        iam.tag_role,
        "NoSuchEntity",
        "The role with name nope cannot be found.",
        404,
        RoleName="nope",
        Tags=[{"Key": "x", "Value": "1"}],
    )


def test_role_cli(berth, tmp_path):
    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps(TRUST_ECS))
    code, out, err = berth.aws(
        "iam", "create-role", "--role-name", "exec", "--assume-role-policy-document", f"file://{trust}", check=True
    )
    role = json.loads(out)["Role"]
    assert role["AssumeRolePolicyDocument"] == TRUST_ECS
    code, out, err = berth.aws(
        "iam", "attach-role-policy", "--role-name", "exec", "--policy-arn", ECS_EXEC_POLICY, check=True
    )
    code, out, err = berth.aws("iam", "list-attached-role-policies", "--role-name", "exec", check=True)
    assert json.loads(out)["AttachedPolicies"][0]["PolicyArn"] == ECS_EXEC_POLICY
    code, out, err = berth.aws("iam", "delete-role", "--role-name", "exec")
    assert code == 254 or code == 255
    assert (
        "An error occurred (DeleteConflict) when calling the DeleteRole operation: "
        "Cannot delete entity, must detach all policies first." in err
    )


# --- managed policies ---------------------------------------------------------------------


def test_managed_policy_lifecycle(berth):
    iam = berth.client("iam")
    doc = allow(["s3:GetObject", "s3:ListBucket"])
    created = iam.create_policy(
        PolicyName="Reader", Path="/team/", PolicyDocument=json.dumps(doc), Description="reads"
    )["Policy"]
    assert created["Arn"] == f"arn:aws:iam::{ACCOUNT}:policy/team/Reader"
    assert created["PolicyId"].startswith("ANPA")
    assert created["DefaultVersionId"] == "v1"
    assert created["AttachmentCount"] == 0
    assert created["IsAttachable"] is True

    got = iam.get_policy(PolicyArn=created["Arn"])["Policy"]
    assert got["Description"] == "reads"
    assert got["Tags"] == []
    version = iam.get_policy_version(PolicyArn=created["Arn"], VersionId="v1")["PolicyVersion"]
    assert version["Document"] == doc
    assert version["IsDefaultVersion"] is True

    expect_error(
        iam.create_policy,
        "EntityAlreadyExists",
        "A policy called Reader already exists. Duplicate names are not allowed.",
        409,
        PolicyName="Reader",
        PolicyDocument=json.dumps(doc),
    )
    expect_error(
        iam.get_policy_version,
        "NoSuchEntity",
        f"Policy {created['Arn']} version v2 does not exist or is not attachable.",
        404,
        PolicyArn=created["Arn"],
        VersionId="v2",
    )
    local = iam.list_policies(Scope="Local")["Policies"]
    assert [p["PolicyName"] for p in local] == ["Reader"]
    assert iam.list_policies(Scope="Local", PathPrefix="/other/")["Policies"] == []
    assert iam.list_policies(Scope="Local", OnlyAttached=True)["Policies"] == []

    iam.delete_policy(PolicyArn=created["Arn"])
    expect_error(
        iam.get_policy, "NoSuchEntity", f"Policy {created['Arn']} was not found.", 404, PolicyArn=created["Arn"]
    )
    expect_error(
        iam.delete_policy, "NoSuchEntity", f"Policy {created['Arn']} was not found.", 404, PolicyArn=created["Arn"]
    )


def test_managed_policy_errors(berth):
    iam = berth.client("iam")
    expect_error(
        iam.create_policy,
        "MalformedPolicyDocument",
        "Policy document should not specify a principal.",
        400,
        PolicyName="p",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}]}
        ),
    )
    actions = [f"s3:GetObjectVersion{i:03d}" for i in range(300)]
    expect_error(
        iam.create_policy,
        "LimitExceeded",
        "Cannot exceed quota for PolicySize: 6144",
        409,
        PolicyName="p",
        PolicyDocument=json.dumps(allow(actions)),
    )
    assert iam.list_policies(Scope="Local")["Policies"] == []
    expect_error(
        iam.delete_policy,
        "AccessDenied",
        "Cannot delete policies outside your own account.",
        403,
        PolicyArn=ECS_EXEC_POLICY,
    )
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(TRUST_ECS))
    policy = iam.create_policy(PolicyName="p", PolicyDocument=json.dumps(allow("s3:*")))["Policy"]
    iam.attach_role_policy(RoleName="r", PolicyArn=policy["Arn"])
    expect_error(
        iam.delete_policy, "DeleteConflict", "Cannot delete a policy attached to entities.", 409, PolicyArn=policy["Arn"]
    )
    attached = iam.list_policies(Scope="Local", OnlyAttached=True)["Policies"]
    assert [(p["PolicyName"], p["AttachmentCount"]) for p in attached] == [("p", 1)]


def test_aws_managed_ecs_execution_policy(berth):
    iam = berth.client("iam")
    p = iam.get_policy(PolicyArn=ECS_EXEC_POLICY)["Policy"]
    assert p["PolicyName"] == "AmazonECSTaskExecutionRolePolicy"
    assert p["Path"] == "/service-role/"
    assert p["DefaultVersionId"] == "v1"
    assert p["IsAttachable"] is True
    v = iam.get_policy_version(PolicyArn=ECS_EXEC_POLICY, VersionId="v1")["PolicyVersion"]
    assert v["Document"] == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "ecr:GetAuthorizationToken",
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchGetImage",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                ],
                "Resource": "*",
            }
        ],
    }
    pages = iam.get_paginator("list_policies")
    aws = [x for page in pages.paginate(Scope="AWS") for x in page["Policies"]]
    assert ECS_EXEC_POLICY in [x["Arn"] for x in aws]
    iam.create_policy(PolicyName="Mine", PolicyDocument=json.dumps(allow("s3:*")))
    every = [x["PolicyName"] for page in pages.paginate() for x in page["Policies"]]
    assert "AmazonECSTaskExecutionRolePolicy" in every and "Mine" in every
    assert "Mine" not in [x["PolicyName"] for page in pages.paginate(Scope="AWS") for x in page["Policies"]]


def test_policy_cli(berth, tmp_path):
    doc = tmp_path / "policy.json"
    doc.write_text(json.dumps(allow("s3:GetObject")))
    code, out, err = berth.aws("iam", "create-policy", "--policy-name", "cli", "--policy-document", f"file://{doc}", check=True)
    arn = json.loads(out)["Policy"]["Arn"]
    code, out, err = berth.aws("iam", "get-policy-version", "--policy-arn", arn, "--version-id", "v1", check=True)
    assert json.loads(out)["PolicyVersion"]["Document"] == allow("s3:GetObject")
    code, out, err = berth.aws("iam", "list-policies", "--scope", "Local", check=True)
    assert [p["PolicyName"] for p in json.loads(out)["Policies"]] == ["cli"]
