"""IAM beyond users and roles, end to end: groups (and their policies in every decision),
instance profiles, service-linked roles, managed policy versions, and every operation of the
IAM model answered."""

import json

import pytest
from botocore.exceptions import ClientError

from conftest import error_code, error_message
from helpers import allow, query_action, unanswered_operations, user_creds

ACCOUNT = "000000000000"
ECS_EXEC_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
TRUST_EC2 = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def expect_error(call, code, message, http_status=None, **kwargs):
    with pytest.raises(ClientError) as e:
        call(**kwargs)
    assert error_code(e.value) == code, e.value.response
    if message is not None:
        assert error_message(e.value) == message
    if http_status is not None:
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == http_status
    return e.value


def deny(actions, resources="*"):
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": actions, "Resource": resources}]}


# --- groups --------------------------------------------------------------------------------


def test_group_lifecycle(berth):
    iam = berth.client("iam")
    g = iam.create_group(GroupName="devs", Path="/eng/")["Group"]
    assert g["GroupName"] == "devs"
    assert g["Arn"] == f"arn:aws:iam::{ACCOUNT}:group/eng/devs"
    assert g["GroupId"].startswith("AGPA") and len(g["GroupId"]) == 21
    expect_error(
        iam.create_group, "EntityAlreadyExists", "Group with name DEVS already exists.", 409, GroupName="DEVS"
    )
    iam.create_user(UserName="bob")
    iam.add_user_to_group(GroupName="devs", UserName="bob")
    got = iam.get_group(GroupName="devs")
    assert got["Group"]["GroupId"] == g["GroupId"]
    assert [u["UserName"] for u in got["Users"]] == ["bob"]
    assert [x["GroupName"] for x in iam.list_groups_for_user(UserName="bob")["Groups"]] == ["devs"]
    assert [x["GroupName"] for x in iam.list_groups(PathPrefix="/eng/")["Groups"]] == ["devs"]
    assert iam.list_groups(PathPrefix="/ops/")["Groups"] == []

    iam.put_group_policy(GroupName="devs", PolicyName="read", PolicyDocument=json.dumps(allow("s3:Get*")))
    assert iam.list_group_policies(GroupName="devs")["PolicyNames"] == ["read"]
    doc = iam.get_group_policy(GroupName="devs", PolicyName="read")
    assert doc["GroupName"] == "devs" and doc["PolicyDocument"] == allow("s3:Get*")
    iam.attach_group_policy(GroupName="devs", PolicyArn=ECS_EXEC_POLICY)
    attached = iam.list_attached_group_policies(GroupName="devs")["AttachedPolicies"]
    assert attached == [{"PolicyName": "AmazonECSTaskExecutionRolePolicy", "PolicyArn": ECS_EXEC_POLICY}]

    must_remove = "Cannot delete entity, must remove users from group first."
    expect_error(iam.delete_group, "DeleteConflict", must_remove, 409, GroupName="devs")
    expect_error(iam.delete_user, "DeleteConflict", must_remove, 409, UserName="bob")
    iam.remove_user_from_group(GroupName="devs", UserName="bob")
    expect_error(
        iam.delete_group,
        "DeleteConflict",
        "Cannot delete entity, must delete policies first.",
        409,
        GroupName="devs",
    )
    iam.delete_group_policy(GroupName="devs", PolicyName="read")
    expect_error(
        iam.delete_group,
        "DeleteConflict",
        "Cannot delete entity, must detach all policies first.",
        409,
        GroupName="devs",
    )
    iam.detach_group_policy(GroupName="devs", PolicyArn=ECS_EXEC_POLICY)
    iam.update_group(GroupName="devs", NewGroupName="builders", NewPath="/")
    assert iam.get_group(GroupName="builders")["Group"]["Arn"] == f"arn:aws:iam::{ACCOUNT}:group/builders"
    iam.delete_group(GroupName="builders")
    expect_error(
        iam.get_group, "NoSuchEntity", "The group with name builders cannot be found.", 404, GroupName="builders"
    )
    iam.delete_user(UserName="bob")


def test_groups_and_instance_profiles_cli(berth):
    berth.aws("iam", "create-group", "--group-name", "ops", check=True)
    berth.aws("iam", "create-user", "--user-name", "gina", check=True)
    berth.aws("iam", "add-user-to-group", "--group-name", "ops", "--user-name", "gina", check=True)
    _, out, _ = berth.aws("iam", "get-group", "--group-name", "ops", check=True)
    assert [u["UserName"] for u in json.loads(out)["Users"]] == ["gina"]
    code, _, err = berth.aws("iam", "delete-group", "--group-name", "ops")
    assert code in (254, 255)
    assert (
        "An error occurred (DeleteConflict) when calling the DeleteGroup operation: "
        "Cannot delete entity, must remove users from group first." in err
    )
    _, out, _ = berth.aws("iam", "create-instance-profile", "--instance-profile-name", "web", check=True)
    assert json.loads(out)["InstanceProfile"]["Arn"] == f"arn:aws:iam::{ACCOUNT}:instance-profile/web"


def test_group_policies_decide_for_members(berth):
    iam = berth.client("iam")
    creds = user_creds(berth, "carol")
    carol = berth.client("iam", creds=creds)
    iam.create_group(GroupName="listers")
    iam.put_group_policy(GroupName="listers", PolicyName="p", PolicyDocument=json.dumps(allow("iam:ListUsers")))

    # No policy of her own: denied, on the account's users as AWS names them.
    expect_error(
        carol.list_users,
        "AccessDenied",
        f"User: arn:aws:iam::{ACCOUNT}:user/carol is not authorized to perform: iam:ListUsers on resource: "
        f"arn:aws:iam::{ACCOUNT}:user/ because no identity-based policy allows the iam:ListUsers action",
        403,
    )
    # In the group: allowed.
    iam.add_user_to_group(GroupName="listers", UserName="carol")
    assert "Users" in carol.list_users()
    # Out of the group: denied on the very next request.
    iam.remove_user_from_group(GroupName="listers", UserName="carol")
    expect_error(carol.list_users, "AccessDenied", None, 403)

    # A group's Deny beats the user's own Allow; a managed policy on the group counts too.
    iam.put_user_policy(UserName="carol", PolicyName="own", PolicyDocument=json.dumps(allow("iam:ListUsers")))
    assert "Users" in carol.list_users()
    arn = iam.create_policy(PolicyName="NoListing", PolicyDocument=json.dumps(deny("iam:ListUsers")))["Policy"]["Arn"]
    iam.create_group(GroupName="restricted")
    iam.attach_group_policy(GroupName="restricted", PolicyArn=arn)
    iam.add_user_to_group(GroupName="restricted", UserName="carol")
    e = expect_error(carol.list_users, "AccessDenied", None, 403)
    assert "with an explicit deny in an identity-based policy" in error_message(e)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1


# --- instance profiles ---------------------------------------------------------------------


def test_instance_profile_lifecycle(berth):
    iam = berth.client("iam")
    p = iam.create_instance_profile(InstanceProfileName="web", Path="/app/", Tags=[{"Key": "k", "Value": "v"}])[
        "InstanceProfile"
    ]
    assert p["Arn"] == f"arn:aws:iam::{ACCOUNT}:instance-profile/app/web"
    assert p["InstanceProfileId"].startswith("AIPA") and len(p["InstanceProfileId"]) == 21
    assert p["Roles"] == []
    expect_error(
        iam.create_instance_profile,
        "EntityAlreadyExists",
        "Instance Profile web already exists.",
        409,
        InstanceProfileName="web",
    )
    role = iam.create_role(RoleName="web-role", AssumeRolePolicyDocument=json.dumps(TRUST_EC2))["Role"]
    iam.create_role(RoleName="other", AssumeRolePolicyDocument=json.dumps(TRUST_EC2))
    iam.add_role_to_instance_profile(InstanceProfileName="web", RoleName="web-role")
    quota = "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1"
    expect_error(
        iam.add_role_to_instance_profile, "LimitExceeded", quota, 409, InstanceProfileName="web", RoleName="other"
    )
    got = iam.get_instance_profile(InstanceProfileName="web")["InstanceProfile"]
    assert [r["RoleId"] for r in got["Roles"]] == [role["RoleId"]]
    assert got["Tags"] == [{"Key": "k", "Value": "v"}]
    listed = iam.list_instance_profiles_for_role(RoleName="web-role")["InstanceProfiles"]
    assert [x["InstanceProfileName"] for x in listed] == ["web"]
    assert iam.list_instance_profiles_for_role(RoleName="other")["InstanceProfiles"] == []
    assert [x["InstanceProfileName"] for x in iam.list_instance_profiles()["InstanceProfiles"]] == ["web"]
    # GetRole is unchanged by the profile.
    assert iam.get_role(RoleName="web-role")["Role"]["RoleId"] == role["RoleId"]

    in_profile = "Cannot delete entity, must remove roles from instance profile first."
    expect_error(iam.delete_role, "DeleteConflict", in_profile, 409, RoleName="web-role")
    expect_error(iam.delete_instance_profile, "DeleteConflict", in_profile, 409, InstanceProfileName="web")

    iam.tag_instance_profile(InstanceProfileName="web", Tags=[{"Key": "a", "Value": "1"}])
    iam.untag_instance_profile(InstanceProfileName="web", TagKeys=["k"])
    assert iam.list_instance_profile_tags(InstanceProfileName="web")["Tags"] == [{"Key": "a", "Value": "1"}]

    iam.remove_role_from_instance_profile(InstanceProfileName="web", RoleName="web-role")
    iam.delete_role(RoleName="web-role")
    iam.delete_instance_profile(InstanceProfileName="web")
    expect_error(
        iam.get_instance_profile,
        "NoSuchEntity",
        "Instance Profile web cannot be found.",
        404,
        InstanceProfileName="web",
    )


def test_adding_a_role_to_a_profile_needs_pass_role(berth):
    iam = berth.client("iam")
    iam.create_instance_profile(InstanceProfileName="p")
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(TRUST_EC2))
    creds = user_creds(berth, "ops", allow("iam:AddRoleToInstanceProfile"))
    ops = berth.client("iam", creds=creds)
    e = expect_error(ops.add_role_to_instance_profile, "AccessDenied", None, 403, InstanceProfileName="p", RoleName="r")
    assert f"iam:PassRole on resource: arn:aws:iam::{ACCOUNT}:role/r" in error_message(e)
    iam.put_user_policy(UserName="ops", PolicyName="pass", PolicyDocument=json.dumps(allow("iam:PassRole")))
    ops.add_role_to_instance_profile(InstanceProfileName="p", RoleName="r")


# --- service-linked roles ------------------------------------------------------------------


def test_service_linked_roles(berth):
    iam = berth.client("iam")
    role = iam.create_service_linked_role(AWSServiceName="ecs.amazonaws.com", Description="ECS")["Role"]
    assert role["RoleName"] == "AWSServiceRoleForECS"
    assert role["Path"] == "/aws-service-role/ecs.amazonaws.com/"
    assert role["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS"
    assert role["RoleId"].startswith("AROA") and len(role["RoleId"]) == 21
    trust = role["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": ["ecs.amazonaws.com"]}
    assert iam.get_role(RoleName="AWSServiceRoleForECS")["Role"]["RoleId"] == role["RoleId"]

    expect_error(
        iam.create_service_linked_role,
        "InvalidInput",
        "Service role name AWSServiceRoleForECS has been taken in this account, please try a different suffix.",
        400,
        AWSServiceName="ecs.amazonaws.com",
    )
    expect_error(
        iam.create_service_linked_role,
        "InvalidInput",
        "Custom suffix is not allowed for ecs.amazonaws.com",
        400,
        AWSServiceName="ecs.amazonaws.com",
        CustomSuffix="mine",
    )
    asg = iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com", CustomSuffix="web")["Role"]
    assert asg["RoleName"] == "AWSServiceRoleForAutoScaling_web"

    protected = "Cannot perform the operation on the protected role 'AWSServiceRoleForECS' - this role is only modifiable by AWS"
    expect_error(iam.delete_role, "UnmodifiableEntity", protected, 400, RoleName="AWSServiceRoleForECS")
    expect_error(
        iam.put_role_policy,
        "UnmodifiableEntity",
        protected,
        400,
        RoleName="AWSServiceRoleForECS",
        PolicyName="p",
        PolicyDocument=json.dumps(allow("s3:*")),
    )

    task = iam.delete_service_linked_role(RoleName="AWSServiceRoleForECS")["DeletionTaskId"]
    assert task.startswith("task/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS/")
    assert iam.get_service_linked_role_deletion_status(DeletionTaskId=task)["Status"] == "SUCCEEDED"
    expect_error(iam.get_role, "NoSuchEntity", None, 404, RoleName="AWSServiceRoleForECS")
    # Made again after deletion, as AWS services do.
    iam.create_service_linked_role(AWSServiceName="ecs.amazonaws.com")


# --- managed policy versions ---------------------------------------------------------------


def test_policy_versions_decide_by_the_default(berth):
    iam = berth.client("iam")
    creds = user_creds(berth, "dave")
    dave = berth.client("iam", creds=creds)
    arn = iam.create_policy(PolicyName="Listing", PolicyDocument=json.dumps(allow("iam:ListUsers")))["Policy"]["Arn"]
    iam.attach_user_policy(UserName="dave", PolicyArn=arn)
    assert "Users" in dave.list_users()

    v2 = iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(allow("iam:ListRoles")))["PolicyVersion"]
    assert v2["VersionId"] == "v2" and v2["IsDefaultVersion"] is False
    assert "Users" in dave.list_users()  # v1 is still the default
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v2")
    expect_error(dave.list_users, "AccessDenied", None, 403)
    assert "Roles" in dave.list_roles()
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v2"
    got = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
    assert got["Document"] == allow("iam:ListUsers") and got["IsDefaultVersion"] is False

    expect_error(
        iam.delete_policy_version,
        "DeleteConflict",
        "Cannot delete the default version of a policy.",
        409,
        PolicyArn=arn,
        VersionId="v2",
    )
    for _ in range(3):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(allow("s3:*")))
    expect_error(
        iam.create_policy_version,
        "LimitExceeded",
        "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.",
        409,
        PolicyArn=arn,
        PolicyDocument=json.dumps(allow("s3:*")),
    )
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [v["VersionId"] for v in versions] == ["v5", "v4", "v3", "v2", "v1"]
    assert [v["VersionId"] for v in versions if v["IsDefaultVersion"]] == ["v2"]

    entities = iam.list_entities_for_policy(PolicyArn=arn)
    assert entities["PolicyUsers"] == [{"UserName": "dave", "UserId": iam.get_user(UserName="dave")["User"]["UserId"]}]
    assert entities["PolicyRoles"] == [] and entities["PolicyGroups"] == []
    assert iam.list_entities_for_policy(PolicyArn=arn, EntityFilter="Role")["PolicyUsers"] == []

    iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "team", "Value": "a"}, {"Key": "x", "Value": "y"}])
    iam.untag_policy(PolicyArn=arn, TagKeys=["x"])
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == [{"Key": "team", "Value": "a"}]

    iam.detach_user_policy(UserName="dave", PolicyArn=arn)
    expect_error(
        iam.delete_policy,
        "DeleteConflict",
        "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. "
        "The default version is deleted with the policy.",
        409,
        PolicyArn=arn,
    )
    for v in ["v1", "v3", "v4", "v5"]:
        iam.delete_policy_version(PolicyArn=arn, VersionId=v)
    iam.delete_policy(PolicyArn=arn)


# --- users in full, the account --------------------------------------------------------------


def test_users_in_full(berth):
    iam = berth.client("iam")
    creds = user_creds(berth, "erin", allow(["iam:GetUser", "iam:ListUserTags"]))
    erin = berth.client("iam", creds=creds)
    iam.create_group(GroupName="g")
    iam.add_user_to_group(GroupName="g", UserName="erin")

    iam.tag_user(UserName="erin", Tags=[{"Key": "team", "Value": "a"}, {"Key": "tmp", "Value": "x"}])
    iam.untag_user(UserName="erin", TagKeys=["TMP"])
    assert iam.list_user_tags(UserName="erin")["Tags"] == [{"Key": "team", "Value": "a"}]

    boundary = iam.create_policy(PolicyName="B", PolicyDocument=json.dumps(allow("iam:GetUser")))["Policy"]["Arn"]
    iam.put_user_permissions_boundary(UserName="erin", PermissionsBoundary=boundary)
    assert iam.get_user(UserName="erin")["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    expect_error(erin.list_user_tags, "AccessDenied", None, 403, UserName="erin")
    iam.delete_user_permissions_boundary(UserName="erin")
    assert "PermissionsBoundary" not in iam.get_user(UserName="erin")["User"]
    assert erin.list_user_tags(UserName="erin")["Tags"] == [{"Key": "team", "Value": "a"}]

    # A rename carries the user's keys and groups with it.
    iam.update_user(UserName="erin", NewUserName="erin2", NewPath="/ops/")
    me = erin.get_user(UserName="erin2")["User"]
    assert me["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/ops/erin2"
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName="erin2")["Groups"]] == ["g"]
    expect_error(iam.get_user, "NoSuchEntity", "The user with name erin cannot be found.", 404, UserName="erin")

    # An inactive key no longer signs; active again, it does.
    last = iam.get_access_key_last_used(AccessKeyId=creds.access_key_id)
    assert last["UserName"] == "erin2"
    assert last["AccessKeyLastUsed"]["ServiceName"] == "N/A"
    iam.update_access_key(UserName="erin2", AccessKeyId=creds.access_key_id, Status="Inactive")
    listed = iam.list_access_keys(UserName="erin2")["AccessKeyMetadata"]
    assert [k["Status"] for k in listed] == ["Inactive"]
    expect_error(
        erin.get_user, "InvalidClientTokenId", "The security token included in the request is invalid.", 403
    )
    iam.update_access_key(UserName="erin2", AccessKeyId=creds.access_key_id, Status="Active")
    assert erin.get_user(UserName="erin2")["User"]["UserName"] == "erin2"


def test_role_boundary_removal(berth):
    iam = berth.client("iam")
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(TRUST_EC2), PermissionsBoundary=ECS_EXEC_POLICY)
    assert iam.get_role(RoleName="r")["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == ECS_EXEC_POLICY
    iam.delete_role_permissions_boundary(RoleName="r")
    assert "PermissionsBoundary" not in iam.get_role(RoleName="r")["Role"]


def test_account_summary_and_aliases(berth):
    iam = berth.client("iam")
    iam.create_user(UserName="u1")
    iam.create_group(GroupName="g1")
    summary = iam.get_account_summary()["SummaryMap"]
    assert summary["Users"] == 1 and summary["Groups"] == 1
    assert summary["AccessKeysPerUserQuota"] == 2
    assert summary["AccountAccessKeysPresent"] == 1

    assert iam.list_account_aliases()["AccountAliases"] == []
    iam.create_account_alias(AccountAlias="my-org")
    assert iam.list_account_aliases()["AccountAliases"] == ["my-org"]
    expect_error(iam.create_account_alias, "ValidationError", None, 400, AccountAlias="Bad--Alias")
    iam.delete_account_alias(AccountAlias="my-org")
    assert iam.list_account_aliases()["AccountAliases"] == []


# --- roles, continued ----------------------------------------------------------------------


def test_role_updates_and_tags(berth):
    iam = berth.client("iam")
    iam.create_role(
        RoleName="r",
        AssumeRolePolicyDocument=json.dumps(TRUST_EC2),
        Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}],
    )
    iam.update_role(RoleName="r", Description="runs things", MaxSessionDuration=7200)
    role = iam.get_role(RoleName="r")["Role"]
    assert role["Description"] == "runs things" and role["MaxSessionDuration"] == 7200
    described = iam.update_role_description(RoleName="r", Description="other")["Role"]
    assert described["Description"] == "other"
    iam.untag_role(RoleName="r", TagKeys=["A"])
    assert iam.list_role_tags(RoleName="r")["Tags"] == [{"Key": "b", "Value": "2"}]


def test_a_new_user_has_no_other_credentials(berth):
    iam = berth.client("iam")
    iam.create_user(UserName="frank")
    assert iam.list_mfa_devices(UserName="frank")["MFADevices"] == []
    assert iam.list_ssh_public_keys(UserName="frank")["SSHPublicKeys"] == []
    assert iam.list_signing_certificates(UserName="frank")["Certificates"] == []
    assert iam.list_service_specific_credentials(UserName="frank")["ServiceSpecificCredentials"] == []
    assert iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []
    assert iam.list_saml_providers()["SAMLProviderList"] == []
    assert iam.list_open_id_connect_providers()["OpenIDConnectProviderList"] == []
    expect_error(
        iam.list_mfa_devices, "NoSuchEntity", "The user with name nobody cannot be found.", 404, UserName="nobody"
    )


# --- every operation of the IAM model is answered -----------------------------------------


def test_every_operation_of_the_model_is_answered(berth):
    """No operation of models/iam.json answers `InvalidAction` ("Could not find operation"):
    each is answered, by what it does or by the error an account without the feature gets."""
    unanswered, version = unanswered_operations(berth, "iam", "iam.json")
    assert unanswered == []
    # An operation that is not in the model still answers InvalidAction.
    status, text = query_action(berth, "iam", "MakeCoffee", version)
    assert status == 400
    assert f"Could not find operation MakeCoffee for version {version}" in text
