"""IAM's service last accessed data end to end: the services an entity's policies allow and
when it last tried them (from berth's own records of the calls it authorised), the policies
granting each namespace, the STS preferences in the account summary, and what an account
answers for the features berth does not have."""

import json
import re
import urllib.parse

import pytest
from botocore.exceptions import ClientError

from conftest import error_code, error_message
from helpers import allow, raw_client, user_creds

ACCOUNT = "000000000000"
TRUST_EC2 = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def expect_error(call, code, message=None, status=None, **kwargs):
    with pytest.raises(ClientError) as e:
        call(**kwargs)
    assert error_code(e.value) == code, e.value.response
    if message is not None:
        assert error_message(e.value) == message, e.value.response
    if status is not None:
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    return e.value


def query(berth, action, **params):
    """An IAM Query call signed as root, for operations newer than the installed botocore."""
    body = urllib.parse.urlencode({"Action": action, "Version": "2010-05-08", **params}).encode()
    status, _, raw = berth.raw(
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        sign=("iam", "us-east-1"),
    )
    return status, raw.decode()


def query_error(berth, action, code, message, status, **params):
    got, text = query(berth, action, **params)
    assert got == status, text
    assert f"<Code>{code}</Code>" in text, text
    if message is not None:
        assert f"<Message>{message}</Message>" in text, text


def report(iam, arn, granularity="SERVICE_LEVEL"):
    job = iam.generate_service_last_accessed_details(Arn=arn, Granularity=granularity)["JobId"]
    assert re.fullmatch(r"[0-9a-f-]{36}", job)
    got = iam.get_service_last_accessed_details(JobId=job)
    assert got["JobStatus"] == "COMPLETED"
    return job, got


def test_a_users_report_shows_the_services_it_tried(berth):
    iam = berth.client("iam")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["iam:ListUsers", "iam:GetUser"], "Resource": "*"},
            {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"},
        ],
    }
    creds = user_creds(berth, "ana", policy)
    ana_arn = f"arn:aws:iam::{ACCOUNT}:user/ana"
    ana = berth.client("iam", creds=creds)
    ana.list_users()
    # A denied attempt counts too, as AWS says.
    expect_error(ana.list_roles, "AccessDenied", status=403)

    _, got = report(iam, ana_arn)
    assert got["JobType"] == "SERVICE_LEVEL"
    services = {s["ServiceNamespace"]: s for s in got["ServicesLastAccessed"]}
    assert sorted(services) == ["iam", "secretsmanager"]
    used = services["iam"]
    assert used["ServiceName"] == "AWS Identity and Access Management"
    assert used["LastAuthenticatedEntity"] == ana_arn
    assert used["LastAuthenticatedRegion"] == "us-east-1"
    assert used["TotalAuthenticatedEntities"] == 1
    assert used["LastAuthenticated"] <= got["JobCreationDate"]
    assert "TrackedActionsLastAccessed" not in used
    unused = services["secretsmanager"]
    assert unused["ServiceName"] == "AWS Secrets Manager"
    assert unused["TotalAuthenticatedEntities"] == 0 and "LastAuthenticated" not in unused

    # ACTION_LEVEL: the actions tried, latest first.
    job, got = report(iam, ana_arn, "ACTION_LEVEL")
    assert got["JobType"] == "ACTION_LEVEL"
    iam_service = next(s for s in got["ServicesLastAccessed"] if s["ServiceNamespace"] == "iam")
    actions = [a["ActionName"] for a in iam_service["TrackedActionsLastAccessed"]]
    assert sorted(actions) == ["ListRoles", "ListUsers"]
    assert {a["LastAccessedEntity"] for a in iam_service["TrackedActionsLastAccessed"]} == {ana_arn}

    entities = iam.get_service_last_accessed_details_with_entities(JobId=job, ServiceNamespace="iam")
    assert entities["JobStatus"] == "COMPLETED"
    [detail] = entities["EntityDetailsList"]
    assert detail["EntityInfo"] == {
        "Arn": ana_arn,
        "Name": "ana",
        "Type": "USER",
        "Id": iam.get_user(UserName="ana")["User"]["UserId"],
        "Path": "/",
    }
    assert "LastAuthenticated" in detail

    # Paging through the services.
    first = iam.get_service_last_accessed_details(JobId=job, MaxItems=1)
    assert first["IsTruncated"] is True and len(first["ServicesLastAccessed"]) == 1
    rest = iam.get_service_last_accessed_details(JobId=job, Marker=first["Marker"])
    assert rest["IsTruncated"] is False
    names = [s["ServiceNamespace"] for s in first["ServicesLastAccessed"] + rest["ServicesLastAccessed"]]
    assert names == ["iam", "secretsmanager"]


def test_group_role_and_policy_reports(berth):
    iam = berth.client("iam")
    arn = iam.create_policy(PolicyName="Lister", PolicyDocument=json.dumps(allow("iam:List*")))["Policy"]["Arn"]
    iam.create_group(GroupName="devs")
    iam.attach_group_policy(GroupName="devs", PolicyArn=arn)
    creds = user_creds(berth, "bo")
    user_creds(berth, "cy")
    iam.add_user_to_group(GroupName="devs", UserName="bo")
    iam.add_user_to_group(GroupName="devs", UserName="cy")
    berth.client("iam", creds=creds).list_groups()

    for subject in (f"arn:aws:iam::{ACCOUNT}:group/devs", arn):
        job, got = report(iam, subject)
        [service] = got["ServicesLastAccessed"]
        assert service["ServiceNamespace"] == "iam"
        assert service["TotalAuthenticatedEntities"] == 1
        assert service["LastAuthenticatedEntity"] == f"arn:aws:iam::{ACCOUNT}:user/bo"
        listed = iam.get_service_last_accessed_details_with_entities(JobId=job, ServiceNamespace="iam")
        # The most recent first; a member that tried nothing has no date.
        assert [e["EntityInfo"]["Name"] for e in listed["EntityDetailsList"]] == ["bo", "cy"]
        assert "LastAuthenticated" not in listed["EntityDetailsList"][1]

    role = iam.create_role(RoleName="web", AssumeRolePolicyDocument=json.dumps(TRUST_EC2))["Role"]
    iam.put_role_policy(RoleName="web", PolicyName="p", PolicyDocument=json.dumps(allow("kms:Decrypt")))
    _, got = report(iam, role["Arn"])
    assert [(s["ServiceNamespace"], s["ServiceName"]) for s in got["ServicesLastAccessed"]] == [
        ("kms", "AWS Key Management Service")
    ]
    assert got["ServicesLastAccessed"][0]["TotalAuthenticatedEntities"] == 0


def test_a_role_sessions_calls_count_for_the_role(berth):
    iam = berth.client("iam")
    user = user_creds(berth, "dee", allow("sts:AssumeRole"))
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/dee"}, "Action": "sts:AssumeRole"}
        ],
    }
    role = iam.create_role(RoleName="ops", Path="/team/", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    iam.put_role_policy(RoleName="ops", PolicyName="p", PolicyDocument=json.dumps(allow("iam:*")))
    c = berth.client("sts", creds=user).assume_role(RoleArn=role["Arn"], RoleSessionName="s1")["Credentials"]
    session = berth.client(
        "iam", creds=type(user)(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    )
    session.list_roles()
    _, got = report(iam, role["Arn"])
    [service] = got["ServicesLastAccessed"]
    assert service["LastAuthenticatedEntity"] == f"arn:aws:iam::{ACCOUNT}:role/team/ops"


def test_report_errors(berth):
    iam = berth.client("iam")
    expect_error(
        iam.generate_service_last_accessed_details,
        "NoSuchEntity",
        "The user with name nobody cannot be found.",
        404,
        Arn=f"arn:aws:iam::{ACCOUNT}:user/nobody",
    )
    expect_error(
        iam.generate_service_last_accessed_details,
        "InvalidInput",
        None,
        400,
        Arn="arn:aws:s3:::a-bucket-of-mine",
    )
    expect_error(
        iam.get_service_last_accessed_details,
        "NoSuchEntity",
        None,
        404,
        JobId="00000000-0000-0000-0000-000000000000",
    )
    expect_error(
        raw_client(berth, "iam").get_service_last_accessed_details,
        "ValidationError",
        "1 validation error detected: Value at 'jobId' failed to satisfy constraint: "
        "Member must have length greater than or equal to 36",
        400,
        JobId="short-job-id-0000",
    )
    creds = user_creds(berth, "eve")
    eve = berth.client("iam", creds=creds)
    e = expect_error(
        eve.generate_service_last_accessed_details, "AccessDenied", None, 403, Arn=f"arn:aws:iam::{ACCOUNT}:user/eve"
    )
    assert f"iam:GenerateServiceLastAccessedDetails on resource: arn:aws:iam::{ACCOUNT}:user/eve" in error_message(e)


def test_policies_granting_service_access(berth):
    iam = berth.client("iam")
    iam.create_user(UserName="fay")
    iam.put_user_policy(UserName="fay", PolicyName="own", PolicyDocument=json.dumps(allow("s3:GetObject")))
    arn = iam.create_policy(PolicyName="All", PolicyDocument=json.dumps(allow("*")))["Policy"]["Arn"]
    iam.create_group(GroupName="g")
    iam.put_group_policy(GroupName="g", PolicyName="gp", PolicyDocument=json.dumps(allow("ecs:List*")))
    iam.attach_user_policy(UserName="fay", PolicyArn=arn)
    iam.add_user_to_group(GroupName="g", UserName="fay")
    got = iam.list_policies_granting_service_access(
        Arn=f"arn:aws:iam::{ACCOUNT}:user/fay", ServiceNamespaces=["s3", "ecs", "kms"]
    )
    assert got["IsTruncated"] is False
    by = {e["ServiceNamespace"]: e["Policies"] for e in got["PoliciesGrantingServiceAccess"]}
    assert by["s3"] == [
        {"PolicyName": "own", "PolicyType": "INLINE", "EntityType": "USER", "EntityName": "fay"},
        {"PolicyName": "All", "PolicyType": "MANAGED", "PolicyArn": arn},
    ]
    assert by["ecs"] == [
        {"PolicyName": "All", "PolicyType": "MANAGED", "PolicyArn": arn},
        {"PolicyName": "gp", "PolicyType": "INLINE", "EntityType": "GROUP", "EntityName": "g"},
    ]
    assert by["kms"] == [{"PolicyName": "All", "PolicyType": "MANAGED", "PolicyArn": arn}]
    expect_error(
        iam.list_policies_granting_service_access,
        "NoSuchEntity",
        "The role with name nope cannot be found.",
        404,
        Arn=f"arn:aws:iam::{ACCOUNT}:role/nope",
        ServiceNamespaces=["s3"],
    )


def test_service_last_accessed_with_the_cli(berth):
    berth.aws("iam", "create-user", "--user-name", "gus", check=True)
    berth.aws(
        "iam", "put-user-policy", "--user-name", "gus", "--policy-name", "p",
        "--policy-document", json.dumps(allow("logs:*")), check=True,
    )
    _, out, _ = berth.aws(
        "iam", "generate-service-last-accessed-details", "--arn", f"arn:aws:iam::{ACCOUNT}:user/gus", check=True
    )
    job = json.loads(out)["JobId"]
    _, out, _ = berth.aws("iam", "get-service-last-accessed-details", "--job-id", job, check=True)
    [service] = json.loads(out)["ServicesLastAccessed"]
    assert service["ServiceNamespace"] == "logs" and service["ServiceName"] == "Amazon CloudWatch Logs"
    code, _, err = berth.aws(
        "iam", "list-policies-granting-service-access", "--arn", f"arn:aws:iam::{ACCOUNT}:user/nobody",
        "--service-namespaces", "s3",
    )
    assert code in (254, 255)
    assert (
        "An error occurred (NoSuchEntity) when calling the ListPoliciesGrantingServiceAccess operation: "
        "The user with name nobody cannot be found." in err
    )


# --- the STS preferences and the account summary --------------------------------------------


def test_sts_preferences_and_the_summarys_counts(berth):
    iam = berth.client("iam")
    summary = iam.get_account_summary()["SummaryMap"]
    assert summary["GlobalEndpointTokenVersion"] == 1
    assert summary["MFADevices"] == 0 and summary["Providers"] == 0 and summary["ServerCertificates"] == 0
    iam.set_security_token_service_preferences(GlobalEndpointTokenVersion="v2Token")
    assert iam.get_account_summary()["SummaryMap"]["GlobalEndpointTokenVersion"] == 2
    berth.aws("iam", "set-security-token-service-preferences", "--global-endpoint-token-version", "v1Token", check=True)
    assert iam.get_account_summary()["SummaryMap"]["GlobalEndpointTokenVersion"] == 1
    expect_error(
        raw_client(berth, "iam").set_security_token_service_preferences,
        "ValidationError",
        "1 validation error detected: Value at 'globalEndpointTokenVersion' failed to satisfy constraint: "
        "Member must satisfy enum value set",
        400,
        GlobalEndpointTokenVersion="v3Token",
    )

    iam.create_user(UserName="hal")
    iam.create_virtual_mfa_device(VirtualMFADeviceName="spare")
    iam.create_open_id_connect_provider(Url="https://id.example.com", ThumbprintList=["0" * 40])
    summary = iam.get_account_summary()["SummaryMap"]
    assert summary["MFADevices"] == 1 and summary["MFADevicesInUse"] == 0
    assert summary["Providers"] == 1

    creds = user_creds(berth, "ivy")
    expect_error(
        berth.client("iam", creds=creds).set_security_token_service_preferences,
        "AccessDenied",
        f"User: arn:aws:iam::{ACCOUNT}:user/ivy is not authorized to perform: "
        "iam:SetSecurityTokenServicePreferences on resource: * because no identity-based policy allows the "
        "iam:SetSecurityTokenServicePreferences action",
        403,
        GlobalEndpointTokenVersion="v2Token",
    )


# --- what a berth account does not have -----------------------------------------------------


def test_the_features_berth_does_not_have(berth):
    iam = berth.client("iam")
    e = expect_error(
        iam.generate_organizations_access_report, "OrganizationNotFoundException", None, 400,
        EntityPath="o-a1b2c3d4e5/r-f6g7",
    )
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    expect_error(
        iam.get_organizations_access_report, "NoSuchEntity", None, 404, JobId="00000000-0000-0000-0000-000000000000"
    )
    query_error(
        berth,
        "PutAccountProperties",
        "InvalidInput",
        "berth does not have account properties: berth knows no property of namespace RoleManager",
        400,
        **{"Properties.entry.1.key": "RoleManager/Enabled", "Properties.entry.1.value": "true"},
    )
    query_error(
        berth,
        "PutAccountProperties",
        "InvalidInput",
        "all properties of one request must be in the same namespace",
        400,
        **{
            "Properties.entry.1.key": "A/x",
            "Properties.entry.1.value": "1",
            "Properties.entry.2.key": "B/y",
            "Properties.entry.2.value": "2",
        },
    )
    query_error(
        berth,
        "PutAccountProperties",
        "ValidationError",
        "1 validation error detected: Value null at 'properties' failed to satisfy constraint: "
        "Member must not be null",
        400,
    )
    expect_error(
        iam.enable_outbound_web_identity_federation,
        "InvalidInput",
        "berth does not have outbound web identity federation: berth issues no web identity tokens",
        400,
    )
    template = f"arn:aws:iam::{ACCOUNT}:role-template/t"
    query_error(berth, "AcquireRole", "NoSuchEntity", f"role template {template} not found", 404, TemplateArn=template)
    expect_error(
        iam.create_delegation_request,
        "InvalidInput",
        "berth does not have delegation requests: berth has no onboarded partners to make them",
        400,
        Description="d",
        Permissions={"PolicyTemplateArn": f"arn:aws:iam::{ACCOUNT}:policy/x"},
        RequestorWorkflowId="flow-1",
        NotificationChannel="arn:aws:sns:us-east-1:000000000000:t",
        SessionDuration=3600,
    )
    code, _, err = berth.aws("iam", "enable-outbound-web-identity-federation")
    assert code in (254, 255)
    assert "An error occurred (InvalidInput) when calling the EnableOutboundWebIdentityFederation operation" in err


def test_update_open_id_connect_provider(berth):
    iam = berth.client("iam")
    arn = iam.create_open_id_connect_provider(Url="https://id.example.com", ThumbprintList=["0" * 40])[
        "OpenIDConnectProviderArn"
    ]
    # Removing what berth's providers never have changes nothing.
    status, text = query(
        berth, "UpdateOpenIDConnectProvider", OpenIDConnectProviderArn=arn, RemoveIdentityCenterInstance="true"
    )
    assert status == 200 and "<UpdateOpenIDConnectProviderResponse" in text, text
    assert iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)["Url"] == "id.example.com"
    query_error(
        berth,
        "UpdateOpenIDConnectProvider",
        "InvalidInput",
        "berth does not have IAM Identity Center: berth has no Identity Center instances",
        400,
        OpenIDConnectProviderArn=arn,
        IdentityCenterInstanceArn="arn:aws:sso:::instance/ssoins-1234567890abcdef",
    )
    query_error(
        berth,
        "UpdateOpenIDConnectProvider",
        "InvalidInput",
        "ContextProvider and RemoveContextProvider cannot both be given",
        400,
        OpenIDConnectProviderArn=arn,
        **{"ContextProvider.SubjectSourceKey": "sub", "RemoveContextProvider": "true"},
    )
    query_error(
        berth,
        "UpdateOpenIDConnectProvider",
        "NoSuchEntity",
        None,
        404,
        OpenIDConnectProviderArn=f"arn:aws:iam::{ACCOUNT}:oidc-provider/other.example.com",
    )
