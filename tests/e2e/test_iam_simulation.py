"""IAM's policy simulator, end to end: SimulatePrincipalPolicy and SimulateCustomPolicy decide
with berth's own engine (identity policies with groups, permissions boundaries, resource
policies, context keys), name the statements that decided with their positions in the policy
text, and list the context keys a request lacked; GetContextKeysFor*Policy list the keys a set
of policies names. Driven by boto3 and the AWS CLI."""

import json

import pytest
from botocore.exceptions import ClientError

from conftest import error_code, error_message
from helpers import allow, user_creds

ACCOUNT = "000000000000"

# One line, as in AWS's own example: the statement spans columns 38 to 167.
DYNAMO_AFTER = (
    '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"*",'
    '"Condition":{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"}}}}'
)

MULTILINE = """{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Read",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": "*"
        },
        {
            "Sid": "NoDelete",
            "Effect": "Deny",
            "Action": "s3:DeleteObject",
            "Resource": "arn:aws:s3:::locked/*"
        }
    ]
}"""


def results_by(resp):
    return {(r["EvalActionName"], r["EvalResourceName"]): r for r in resp["EvaluationResults"]}


def test_custom_policy_decides_as_aws_and_locates_the_statement(berth):
    iam = berth.client("iam")
    r = iam.simulate_custom_policy(
        PolicyInputList=[DYNAMO_AFTER],
        ActionNames=["dynamodb:CreateBackup", "s3:GetObject"],
        ContextEntries=[
            {"ContextKeyName": "aws:CurrentTime", "ContextKeyValues": ["2019-04-25T11:00:00Z"], "ContextKeyType": "date"}
        ],
    )
    got = results_by(r)
    backup = got[("dynamodb:CreateBackup", "*")]
    assert backup["EvalDecision"] == "allowed"
    assert backup["MatchedStatements"] == [
        {
            "SourcePolicyId": "PolicyInputList.1",
            "SourcePolicyType": "none",
            "StartPosition": {"Line": 1, "Column": 38},
            "EndPosition": {"Line": 1, "Column": 167},
        }
    ]
    assert backup["MissingContextValues"] == []
    other = got[("s3:GetObject", "*")]
    assert other["EvalDecision"] == "implicitDeny"
    assert other["MatchedStatements"] == []
    assert r["IsTruncated"] is False

    # Before the date: denied; without the key: denied, and the key is reported missing.
    early = iam.simulate_custom_policy(
        PolicyInputList=[DYNAMO_AFTER],
        ActionNames=["dynamodb:CreateBackup"],
        ContextEntries=[
            {"ContextKeyName": "aws:CurrentTime", "ContextKeyValues": ["2018-04-25T11:00:00Z"], "ContextKeyType": "date"}
        ],
    )["EvaluationResults"][0]
    assert early["EvalDecision"] == "implicitDeny"
    bare = iam.simulate_custom_policy(PolicyInputList=[DYNAMO_AFTER], ActionNames=["dynamodb:CreateBackup"])
    assert bare["EvaluationResults"][0]["EvalDecision"] == "implicitDeny"
    assert bare["EvaluationResults"][0]["MissingContextValues"] == ["aws:CurrentTime"]


def test_principal_policy_with_groups_boundary_and_an_explicit_deny(berth):
    iam = berth.client("iam")
    iam.create_user(UserName="alice", Path="/team/")
    arn = f"arn:aws:iam::{ACCOUNT}:user/team/alice"
    iam.put_user_policy(UserName="alice", PolicyName="s3-read", PolicyDocument=MULTILINE)
    iam.create_group(GroupName="ops")
    iam.add_user_to_group(GroupName="ops", UserName="alice")
    iam.put_group_policy(GroupName="ops", PolicyName="ops-ec2", PolicyDocument=json.dumps(allow("ec2:*")))

    r = iam.simulate_principal_policy(
        PolicySourceArn=arn,
        ActionNames=["s3:GetObject", "ec2:RunInstances", "s3:DeleteObject", "iam:CreateUser"],
        ResourceArns=["arn:aws:s3:::locked/x"],
    )
    got = results_by(r)
    read = got[("s3:GetObject", "arn:aws:s3:::locked/x")]
    assert read["EvalDecision"] == "allowed"
    assert read["MatchedStatements"] == [
        {
            "SourcePolicyId": "s3-read",
            "SourcePolicyType": "user",
            "StartPosition": {"Line": 4, "Column": 10},
            "EndPosition": {"Line": 9, "Column": 10},
        }
    ]
    assert read["ResourceSpecificResults"] == [
        {
            "EvalResourceName": "arn:aws:s3:::locked/x",
            "EvalResourceDecision": "allowed",
            "MatchedStatements": read["MatchedStatements"],
            "MissingContextValues": [],
        }
    ]
    ec2 = got[("ec2:RunInstances", "arn:aws:s3:::locked/x")]
    assert ec2["EvalDecision"] == "allowed"
    assert [(m["SourcePolicyId"], m["SourcePolicyType"]) for m in ec2["MatchedStatements"]] == [("ops-ec2", "group")]
    delete = got[("s3:DeleteObject", "arn:aws:s3:::locked/x")]
    assert delete["EvalDecision"] == "explicitDeny"
    assert delete["MatchedStatements"][0]["StartPosition"] == {"Line": 10, "Column": 10}
    assert delete["MatchedStatements"][0]["EndPosition"] == {"Line": 15, "Column": 10}
    assert got[("iam:CreateUser", "arn:aws:s3:::locked/x")]["EvalDecision"] == "implicitDeny"

    # A permissions boundary that allows only S3: EC2 is no longer allowed, and it says why.
    iam.create_policy(PolicyName="only-s3", PolicyDocument=json.dumps(allow("s3:*")))
    iam.put_user_permissions_boundary(UserName="alice", PermissionsBoundary=f"arn:aws:iam::{ACCOUNT}:policy/only-s3")
    r = results_by(iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["s3:GetObject", "ec2:RunInstances"]))
    assert r[("s3:GetObject", "*")]["EvalDecision"] == "allowed"
    assert r[("s3:GetObject", "*")]["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": True}
    assert r[("ec2:RunInstances", "*")]["EvalDecision"] == "implicitDeny"
    assert r[("ec2:RunInstances", "*")]["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}

    # A policy given in the request joins the user's; a managed one is named by its name.
    iam.create_policy(PolicyName="kms-use", PolicyDocument=json.dumps(allow("kms:Decrypt")))
    iam.attach_user_policy(UserName="alice", PolicyArn=f"arn:aws:iam::{ACCOUNT}:policy/kms-use")
    iam.delete_user_permissions_boundary(UserName="alice")
    r = results_by(
        iam.simulate_principal_policy(
            PolicySourceArn=arn,
            ActionNames=["kms:Decrypt", "sqs:SendMessage"],
            PolicyInputList=[json.dumps(allow("sqs:*"))],
        )
    )
    assert [(m["SourcePolicyId"], m["SourcePolicyType"]) for m in r[("kms:Decrypt", "*")]["MatchedStatements"]] == [
        ("kms-use", "user-managed")
    ]
    assert [(m["SourcePolicyId"], m["SourcePolicyType"]) for m in r[("sqs:SendMessage", "*")]["MatchedStatements"]] == [
        ("PolicyInputList.1", "none")
    ]


def test_a_role_and_a_resource_policy(berth):
    iam = berth.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName="task", AssumeRolePolicyDocument=json.dumps(trust))
    iam.attach_role_policy(
        RoleName="task", PolicyArn="arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
    )
    role = f"arn:aws:iam::{ACCOUNT}:role/task"
    r = results_by(iam.simulate_principal_policy(PolicySourceArn=role, ActionNames=["logs:PutLogEvents", "s3:GetObject"]))
    assert r[("logs:PutLogEvents", "*")]["EvalDecision"] == "allowed"
    assert r[("logs:PutLogEvents", "*")]["MatchedStatements"][0]["SourcePolicyId"] == "AmazonECSTaskExecutionRolePolicy"
    assert r[("logs:PutLogEvents", "*")]["MatchedStatements"][0]["SourcePolicyType"] == "aws-managed"
    assert r[("s3:GetObject", "*")]["EvalDecision"] == "implicitDeny"

    # A bucket policy naming the caller allows on its own; one in another account is needed
    # alongside the identity policy.
    iam.create_user(UserName="bob")
    bob = f"arn:aws:iam::{ACCOUNT}:user/bob"
    bucket_policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": bob}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}],
        }
    )
    r = iam.simulate_custom_policy(
        PolicyInputList=[json.dumps(allow("ec2:*"))],
        ActionNames=["s3:GetObject"],
        ResourceArns=["arn:aws:s3:::b/k"],
        ResourcePolicy=bucket_policy,
        CallerArn=bob,
    )["EvaluationResults"][0]
    assert r["EvalDecision"] == "allowed"
    assert r["MatchedStatements"][0]["SourcePolicyId"] == "ResourcePolicy"
    assert r["MatchedStatements"][0]["SourcePolicyType"] == "resource"
    r = iam.simulate_custom_policy(
        PolicyInputList=[json.dumps(allow("ec2:*"))],
        ActionNames=["s3:GetObject"],
        ResourceArns=["arn:aws:s3:::b/k"],
        ResourcePolicy=bucket_policy,
        ResourceOwner="arn:aws:iam::111122223333:root",
        CallerArn=bob,
    )["EvaluationResults"][0]
    assert r["EvalDecision"] == "implicitDeny"


def test_pagination_and_the_cli(berth):
    iam = berth.client("iam")
    actions = [f"s3:Get{n}" for n in "ABCDE"]
    first = iam.simulate_custom_policy(PolicyInputList=[json.dumps(allow("s3:*"))], ActionNames=actions, MaxItems=2)
    assert [r["EvalActionName"] for r in first["EvaluationResults"]] == actions[:2]
    assert first["IsTruncated"] is True
    rest = iam.simulate_custom_policy(
        PolicyInputList=[json.dumps(allow("s3:*"))], ActionNames=actions, Marker=first["Marker"]
    )
    assert [r["EvalActionName"] for r in rest["EvaluationResults"]] == actions[2:]
    assert rest["IsTruncated"] is False

    iam.create_user(UserName="carol")
    iam.put_user_policy(UserName="carol", PolicyName="repos", PolicyDocument=json.dumps(allow("codecommit:ListRepositories")))
    code, out, err = berth.aws(
        "iam", "simulate-principal-policy",
        "--policy-source-arn", f"arn:aws:iam::{ACCOUNT}:user/carol",
        "--action-names", "codecommit:ListRepositories", "codecommit:DeleteRepository",
    )
    assert code == 0, err
    got = {r["EvalActionName"]: r for r in json.loads(out)["EvaluationResults"]}
    assert got["codecommit:ListRepositories"]["EvalDecision"] == "allowed"
    assert got["codecommit:ListRepositories"]["MatchedStatements"][0]["SourcePolicyId"] == "repos"
    assert got["codecommit:DeleteRepository"]["EvalDecision"] == "implicitDeny"

    code, out, err = berth.aws(
        "iam", "simulate-custom-policy",
        "--policy-input-list", DYNAMO_AFTER,
        "--action-names", "dynamodb:CreateBackup",
        "--context-entries", "ContextKeyName='aws:CurrentTime',ContextKeyValues='2019-04-25T11:00:00Z',ContextKeyType=date",
    )
    assert code == 0, err
    r = json.loads(out)["EvaluationResults"][0]
    assert r["EvalDecision"] == "allowed"
    assert r["MatchedStatements"][0]["StartPosition"] == {"Line": 1, "Column": 38}


def test_context_keys_of_policies(berth):
    iam = berth.client("iam")
    doc = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringEquals": {"s3:prefix": "home/", "aws:username": "x"}}},
                {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}, "StringLike": {"AWS:UserName": "y"}}},
            ],
        }
    )
    keys = iam.get_context_keys_for_custom_policy(PolicyInputList=[doc])["ContextKeyNames"]
    assert keys == ["s3:prefix", "aws:username", "aws:MultiFactorAuthPresent"]

    iam.create_user(UserName="dave")
    iam.put_user_policy(UserName="dave", PolicyName="p", PolicyDocument=doc)
    extra = json.dumps({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "ec2:*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}})
    keys = iam.get_context_keys_for_principal_policy(
        PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/dave", PolicyInputList=[extra]
    )["ContextKeyNames"]
    assert keys == ["s3:prefix", "aws:username", "aws:MultiFactorAuthPresent", "aws:SourceIp"]

    code, out, err = berth.aws("iam", "get-context-keys-for-custom-policy", "--policy-input-list", extra)
    assert code == 0, err
    assert json.loads(out)["ContextKeyNames"] == ["aws:SourceIp"]


def test_failures_in_aws_terms(berth):
    iam = berth.client("iam")
    with pytest.raises(ClientError) as e:
        iam.simulate_principal_policy(PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/nobody", ActionNames=["s3:GetObject"])
    assert error_code(e.value) == "NoSuchEntity"
    assert error_message(e.value) == "The user with name nobody cannot be found."
    with pytest.raises(ClientError) as e:
        iam.simulate_custom_policy(PolicyInputList=['{"Version":"2012-10-17","Statement":{"Effect":"Allow"}}'], ActionNames=["s3:GetObject"])
    assert error_code(e.value) == "InvalidInput"
    assert error_message(e.value) == "Policy statement must contain actions."
    with pytest.raises(ClientError) as e:
        iam.get_context_keys_for_principal_policy(PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:role/none")
    assert error_code(e.value) == "NoSuchEntity"

    # Simulating another principal needs iam:SimulatePrincipalPolicy on it.
    iam.create_user(UserName="target")
    target = f"arn:aws:iam::{ACCOUNT}:user/target"
    creds = user_creds(berth, "erin", policy=allow("iam:SimulateCustomPolicy"))
    erin = berth.client("iam", creds=creds)
    with pytest.raises(ClientError) as e:
        erin.simulate_principal_policy(PolicySourceArn=target, ActionNames=["s3:GetObject"])
    assert error_code(e.value) == "AccessDenied"
    assert error_message(e.value) == (
        f"User: arn:aws:iam::{ACCOUNT}:user/erin is not authorized to perform: iam:SimulatePrincipalPolicy "
        f"on resource: {target} because no identity-based policy allows the iam:SimulatePrincipalPolicy action"
    )
    r = erin.simulate_custom_policy(PolicyInputList=[json.dumps(allow("s3:*"))], ActionNames=["s3:GetObject"])
    assert r["EvaluationResults"][0]["EvalDecision"] == "allowed"


# --- the AWS managed policy catalogue --------------------------------------------------------


def test_aws_managed_policies_are_served_and_evaluated(berth):
    iam = berth.client("iam")
    admin = iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")["Policy"]
    assert (admin["PolicyName"], admin["PolicyId"], admin["Path"]) == ("AdministratorAccess", "ANPAIWMBCKSKIEE64ZLYK", "/")
    doc = iam.get_policy_version(PolicyArn=admin["Arn"], VersionId=admin["DefaultVersionId"])["PolicyVersion"]["Document"]
    assert doc == {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}

    pages = iam.get_paginator("list_policies")
    names = [p["PolicyName"] for page in pages.paginate(Scope="AWS") for p in page["Policies"]]
    for wanted in ["SecretsManagerReadWrite", "AmazonSSMReadOnlyAccess", "AWSLambdaBasicExecutionRole", "ReadOnlyAccess"]:
        assert wanted in names
    assert names == sorted(names, key=str.lower)

    # Attached, an AWS managed policy decides like any other.
    creds = user_creds(berth, "reader")
    iam.attach_user_policy(UserName="reader", PolicyArn="arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess")
    ssm = berth.client("ssm", creds=creds)
    assert ssm.describe_parameters()["Parameters"] == []
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name="x", Value="y", Type="String")
    assert error_code(e.value) == "AccessDeniedException"
    entities = iam.list_entities_for_policy(PolicyArn="arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess")
    assert [u["UserName"] for u in entities["PolicyUsers"]] == ["reader"]
    r = iam.simulate_principal_policy(
        PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/reader", ActionNames=["ssm:GetParameter", "ssm:PutParameter"]
    )
    got = {x["EvalActionName"]: x for x in r["EvaluationResults"]}
    assert got["ssm:GetParameter"]["EvalDecision"] == "allowed"
    assert got["ssm:GetParameter"]["MatchedStatements"][0]["SourcePolicyId"] == "AmazonSSMReadOnlyAccess"
    assert got["ssm:PutParameter"]["EvalDecision"] == "implicitDeny"


# --- GetAccountAuthorizationDetails ----------------------------------------------------------


def test_account_authorization_details(berth):
    iam = berth.client("iam")
    user_doc = json.dumps(allow("s3:GetObject"))
    iam.create_user(UserName="ann", Tags=[{"Key": "team", "Value": "a"}])
    iam.put_user_policy(UserName="ann", PolicyName="read", PolicyDocument=user_doc)
    iam.create_group(GroupName="devs")
    iam.add_user_to_group(GroupName="devs", UserName="ann")
    iam.put_group_policy(GroupName="devs", PolicyName="g", PolicyDocument=json.dumps(allow("ec2:Describe*")))
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName="web", AssumeRolePolicyDocument=json.dumps(trust))
    iam.attach_role_policy(RoleName="web", PolicyArn="arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore")
    iam.create_instance_profile(InstanceProfileName="web-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="web-profile", RoleName="web")
    mine = iam.create_policy(PolicyName="mine", PolicyDocument=json.dumps(allow("sqs:*")))["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=mine, PolicyDocument=json.dumps(allow("sns:*")), SetAsDefault=True)
    iam.attach_user_policy(UserName="ann", PolicyArn=mine)

    d = iam.get_account_authorization_details()
    assert d["IsTruncated"] is False
    [ann] = d["UserDetailList"]
    assert ann["UserName"] == "ann" and ann["GroupList"] == ["devs"]
    # boto3 decodes the URL-encoded documents of this operation.
    assert ann["UserPolicyList"] == [{"PolicyName": "read", "PolicyDocument": json.loads(user_doc)}]
    assert ann["AttachedManagedPolicies"] == [{"PolicyName": "mine", "PolicyArn": mine}]
    assert ann["Tags"] == [{"Key": "team", "Value": "a"}]
    [devs] = d["GroupDetailList"]
    assert devs["GroupName"] == "devs" and devs["GroupPolicyList"][0]["PolicyName"] == "g"
    [web] = d["RoleDetailList"]
    assert web["AssumeRolePolicyDocument"] == trust
    assert [p["InstanceProfileName"] for p in web["InstanceProfileList"]] == ["web-profile"]
    assert web["AttachedManagedPolicies"] == [
        {"PolicyName": "AmazonSSMManagedInstanceCore", "PolicyArn": "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"}
    ]
    policies = {p["PolicyName"]: p for p in d["Policies"]}
    assert set(policies) == {"mine", "AmazonSSMManagedInstanceCore"}
    versions = policies["mine"]["PolicyVersionList"]
    assert [(v["VersionId"], v["IsDefaultVersion"]) for v in versions] == [("v1", False), ("v2", True)]
    assert versions[1]["Document"] == allow("sns:*")
    assert policies["mine"]["AttachmentCount"] == 1

    only_roles = iam.get_account_authorization_details(Filter=["Role", "AWSManagedPolicy"])
    assert only_roles["UserDetailList"] == [] and only_roles["GroupDetailList"] == []
    assert [r["RoleName"] for r in only_roles["RoleDetailList"]] == ["web"]
    assert [p["PolicyName"] for p in only_roles["Policies"]] == ["AmazonSSMManagedInstanceCore"]

    first = iam.get_account_authorization_details(MaxItems=2)
    assert first["IsTruncated"] is True
    rest = iam.get_account_authorization_details(Marker=first["Marker"])
    assert len(first["UserDetailList"]) + len(first["GroupDetailList"]) == 2
    assert [r["RoleName"] for r in rest["RoleDetailList"]] == ["web"] and len(rest["Policies"]) == 2

    code, out, err = berth.aws("iam", "get-account-authorization-details", "--filter", "User")
    assert code == 0, err
    assert [u["UserName"] for u in json.loads(out)["UserDetailList"]] == ["ann"]

    with pytest.raises(ClientError) as e:
        iam.get_account_authorization_details(Filter=["Nope"])
    assert error_code(e.value) == "ValidationError"


# --- OpenID Connect providers ------------------------------------------------------------------

THUMB = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"


def test_open_id_connect_providers(berth):
    iam = berth.client("iam")
    arn = iam.create_open_id_connect_provider(
        Url="https://token.actions.example.com", ClientIDList=["sts.amazonaws.com"], ThumbprintList=[THUMB],
        Tags=[{"Key": "ci", "Value": "yes"}],
    )["OpenIDConnectProviderArn"]
    assert arn == f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.example.com"
    with pytest.raises(ClientError) as e:
        iam.create_open_id_connect_provider(Url="https://token.actions.example.com", ThumbprintList=[THUMB])
    assert error_code(e.value) == "EntityAlreadyExists"

    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="my-app")
    iam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="sts.amazonaws.com")
    iam.update_open_id_connect_provider_thumbprint(OpenIDConnectProviderArn=arn, ThumbprintList=["a" * 40, THUMB])
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["Url"] == "token.actions.example.com"
    assert got["ClientIDList"] == ["my-app"]
    assert got["ThumbprintList"] == ["a" * 40, THUMB]
    assert got["Tags"] == [{"Key": "ci", "Value": "yes"}]
    assert "CreateDate" in got

    iam.tag_open_id_connect_provider(OpenIDConnectProviderArn=arn, Tags=[{"Key": "team", "Value": "a"}])
    iam.untag_open_id_connect_provider(OpenIDConnectProviderArn=arn, TagKeys=["ci"])
    assert iam.list_open_id_connect_provider_tags(OpenIDConnectProviderArn=arn)["Tags"] == [{"Key": "team", "Value": "a"}]
    assert iam.list_open_id_connect_providers()["OpenIDConnectProviderList"] == [{"Arn": arn}]

    # A role may trust it.
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": arn}, "Action": "sts:AssumeRoleWithWebIdentity"}]}
    iam.create_role(RoleName="ci", AssumeRolePolicyDocument=json.dumps(trust))

    code, out, err = berth.aws("iam", "get-open-id-connect-provider", "--open-id-connect-provider-arn", arn)
    assert code == 0, err
    assert json.loads(out)["ClientIDList"] == ["my-app"]

    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    with pytest.raises(ClientError) as e:
        iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert error_code(e.value) == "NoSuchEntity"
    assert iam.list_open_id_connect_providers()["OpenIDConnectProviderList"] == []
    with pytest.raises(ClientError) as e:
        iam.create_open_id_connect_provider(Url="http://plain.example.com", ThumbprintList=[THUMB])
    assert error_code(e.value) == "InvalidInput"

    # Authorised on the provider's ARN.
    creds = user_creds(berth, "oidc-reader", policy=allow("iam:ListOpenIDConnectProviders"))
    with pytest.raises(ClientError) as e:
        berth.client("iam", creds=creds).create_open_id_connect_provider(Url="https://x.example.com", ThumbprintList=[THUMB])
    assert error_code(e.value) == "AccessDenied"
    assert f"iam:CreateOpenIDConnectProvider on resource: arn:aws:iam::{ACCOUNT}:oidc-provider/x.example.com" in error_message(e.value)


# --- SAML providers ----------------------------------------------------------------------------

METADATA = (
    '<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
    'entityID="https://idp.example.com/saml" validUntil="2030-01-01T00:00:00Z"><md:IDPSSODescriptor '
    'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:SingleSignOnService '
    'Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/>'
    "</md:IDPSSODescriptor></md:EntityDescriptor>" + "<!-- " + "x" * 800 + " -->"
)


def test_saml_providers(berth):
    iam = berth.client("iam")
    arn = iam.create_saml_provider(Name="corp-idp", SAMLMetadataDocument=METADATA, Tags=[{"Key": "k", "Value": "v"}])[
        "SAMLProviderArn"
    ]
    assert arn == f"arn:aws:iam::{ACCOUNT}:saml-provider/corp-idp"
    with pytest.raises(ClientError) as e:
        iam.create_saml_provider(Name="corp-idp", SAMLMetadataDocument=METADATA)
    assert error_code(e.value) == "EntityAlreadyExists"
    got = iam.get_saml_provider(SAMLProviderArn=arn)
    assert got["SAMLMetadataDocument"] == METADATA
    assert got["ValidUntil"].year == 2030
    assert got["Tags"] == [{"Key": "k", "Value": "v"}]
    [listed] = iam.list_saml_providers()["SAMLProviderList"]
    assert listed["Arn"] == arn

    updated = METADATA.replace("2030-01-01", "2031-06-01")
    assert iam.update_saml_provider(SAMLProviderArn=arn, SAMLMetadataDocument=updated)["SAMLProviderArn"] == arn
    assert iam.get_saml_provider(SAMLProviderArn=arn)["ValidUntil"].year == 2031
    iam.tag_saml_provider(SAMLProviderArn=arn, Tags=[{"Key": "team", "Value": "a"}])
    iam.untag_saml_provider(SAMLProviderArn=arn, TagKeys=["k"])
    assert iam.list_saml_provider_tags(SAMLProviderArn=arn)["Tags"] == [{"Key": "team", "Value": "a"}]

    with pytest.raises(ClientError) as e:
        iam.create_saml_provider(Name="bad", SAMLMetadataDocument="<html>" + "x" * 1000 + "</html>")
    assert error_code(e.value) == "InvalidInput"

    code, out, err = berth.aws("iam", "list-saml-providers")
    assert code == 0, err
    assert [p["Arn"] for p in json.loads(out)["SAMLProviderList"]] == [arn]

    iam.delete_saml_provider(SAMLProviderArn=arn)
    with pytest.raises(ClientError) as e:
        iam.get_saml_provider(SAMLProviderArn=arn)
    assert error_code(e.value) == "NoSuchEntity"
    assert iam.list_saml_providers()["SAMLProviderList"] == []
