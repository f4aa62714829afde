"""SSM Parameter Store end to end: parameters, versions, labels and selectors, paging, tags,
SecureString envelope encryption through KMS as the calling principal, IAM enforcement — with
AWS's errors and messages, through boto3 and the AWS CLI."""

import base64
import json

from conftest import REGION, error_message
from helpers import allow, expect, raw_client, user_creds

ACCOUNT = "000000000000"
EXISTS = "The parameter already exists. To overwrite this value, set the overwrite option in the request to true."


def arn(name):
    return f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{name.lstrip('/')}"


def test_put_get_versions_and_overwrite(berth):
    ssm = berth.client("ssm")
    out = ssm.put_parameter(Name="/app/db/host", Value="db.local", Type="String", Description="host")
    assert out == {**out, "Version": 1, "Tier": "Standard"}
    expect(ssm.put_parameter, "ParameterAlreadyExists", EXISTS, Name="/app/db/host", Value="x", Type="String")
    assert ssm.put_parameter(Name="/app/db/host", Value="db2.local", Overwrite=True)["Version"] == 2
    p = ssm.get_parameter(Name="/app/db/host")["Parameter"]
    assert (p["Name"], p["Type"], p["Value"], p["Version"], p["DataType"]) == (
        "/app/db/host", "String", "db2.local", 2, "text")
    assert p["ARN"] == arn("/app/db/host")
    # By ARN: the answer names the parameter by its name.
    p = ssm.get_parameter(Name=arn("/app/db/host"))["Parameter"]
    assert p["Name"] == "/app/db/host" and p["Value"] == "db2.local"
    # Version selector.
    p = ssm.get_parameter(Name="/app/db/host:1")["Parameter"]
    assert (p["Value"], p["Version"], p["Selector"]) == ("db.local", 1, ":1")
    e = expect(ssm.get_parameter, "ParameterVersionNotFound", Name="/app/db/host:9")
    assert error_message(e) == "Systems Manager could not find version 9 of /app/db/host. Verify the version and try again."
    expect(ssm.get_parameter, "ParameterNotFound", "", Name="/app/none")
    # StringList and a plain (non-hierarchical) name.
    ssm.put_parameter(Name="hosts", Value="a,b,c", Type="StringList")
    p = ssm.get_parameter(Name="hosts")["Parameter"]
    assert (p["Type"], p["Value"], p["ARN"]) == ("StringList", "a,b,c", arn("hosts"))
    # Changing the type is refused.
    expect(ssm.put_parameter, "HierarchyTypeMismatchException", Name="hosts", Value="x", Type="String",
           Overwrite=True)
    # Type is required on creation.
    expect(ssm.put_parameter, "ValidationException", "A parameter type is required when you create a parameter.",
           Name="/new", Value="x")


def test_names_patterns_tiers_and_limits(berth):
    ssm = raw_client(berth, "ssm")
    expect(ssm.put_parameter, "ValidationException", Name="a/b", Value="x", Type="String")
    e = expect(ssm.put_parameter, "ValidationException", Name="/bad name!", Value="x", Type="String")
    assert "can't be prefixed with \"aws\" or \"ssm\"" in error_message(e)
    expect(ssm.put_parameter, "ValidationException", Name="ssm-thing", Value="x", Type="String")
    expect(ssm.put_parameter, "AccessDeniedException", "No access to reserved parameter name: /aws/x.",
           Name="/aws/x", Value="x", Type="String")
    deep = "".join(f"/l{i}" for i in range(16))
    expect(ssm.put_parameter, "HierarchyLevelLimitExceededException", Name=deep, Value="x", Type="String")
    assert ssm.put_parameter(Name="".join(f"/l{i}" for i in range(15)), Value="x", Type="String")["Version"] == 1
    # AllowedPattern.
    expect(ssm.put_parameter, "ParameterPatternMismatchException",
           "Parameter value, cannot be validated against allowedPattern: ^\\d+$",
           Name="/num", Value="12a", Type="String", AllowedPattern="^\\d+$")
    assert ssm.put_parameter(Name="/num", Value="12", Type="String", AllowedPattern="^\\d+$")["Version"] == 1
    # The pattern stays with the parameter.
    expect(ssm.put_parameter, "ParameterPatternMismatchException", Name="/num", Value="x", Overwrite=True)
    # Value sizes per tier; Intelligent-Tiering picks Advanced for a large value.
    big = "v" * 5000
    e = expect(ssm.put_parameter, "ValidationException", Name="/big", Value=big, Type="String")
    assert error_message(e).startswith("Standard tier parameters support a maximum parameter value of 4096 characters.")
    assert ssm.put_parameter(Name="/big", Value=big, Type="String", Tier="Intelligent-Tiering")["Tier"] == "Advanced"
    assert ssm.put_parameter(Name="/small", Value="s", Type="String", Tier="Intelligent-Tiering")["Tier"] == "Standard"
    expect(ssm.put_parameter, "ValidationException", Name="/huge", Value="v" * 8193, Type="String", Tier="Advanced")
    expect(ssm.put_parameter, "ValidationException", Name="/big", Value="x", Tier="Standard", Overwrite=True)
    expect(ssm.put_parameter, "ValidationException", Name="/t", Value="x", Type="Text")
    expect(ssm.put_parameter, "ValidationException", "KeyId is required for SecureString type parameter only.",
           Name="/k", Value="x", Type="String", KeyId="alias/aws/ssm")
    # Parameters cannot be nested.
    expect(ssm.put_parameter, "ValidationException", Name="/nest", Value="{{ssm:/num}}", Type="String")
    # Tags cannot go with Overwrite.
    expect(ssm.put_parameter, "ValidationException", Name="/num", Value="3", Overwrite=True,
           Tags=[{"Key": "a", "Value": "b"}])


def test_get_parameters_echoes_names_as_asked(berth):
    ssm = berth.client("ssm")
    ssm.put_parameter(Name="/svc/a", Value="A", Type="String")
    ssm.put_parameter(Name="/svc/b", Value="B1", Type="String")
    ssm.put_parameter(Name="/svc/b", Value="B2", Type="String", Overwrite=True)
    ssm.put_parameter(Name="plain", Value="P", Type="String")
    asked = ["/svc/a", arn("/svc/b"), "/svc/b:1", arn("plain"), "/svc/missing", "/svc/b:7"]
    out = ssm.get_parameters(Names=asked)
    got = {p["Name"]: p for p in out["Parameters"]}
    assert set(got) == {"/svc/a", arn("/svc/b"), "/svc/b", arn("plain")}
    assert got["/svc/a"]["Value"] == "A"
    assert got[arn("/svc/b")]["Value"] == "B2"
    assert (got["/svc/b"]["Value"], got["/svc/b"]["Selector"]) == ("B1", ":1")
    assert got[arn("plain")]["Value"] == "P"
    assert sorted(out["InvalidParameters"]) == ["/svc/b:7", "/svc/missing"]
    e = expect(raw_client(berth, "ssm").get_parameters, "ValidationException", Names=[f"/n{i}" for i in range(11)])
    assert "Member must have length less than or equal to 10" in error_message(e)


def test_by_path_paging_filters_and_the_cli(berth):
    ssm = berth.client("ssm")
    for i in range(12):
        ssm.put_parameter(Name=f"/app/svc/p{i:02}", Value=f"v{i}", Type="String")
    ssm.put_parameter(Name="/app/top", Value="t", Type="String")
    ssm.put_parameter(Name="/app/sec/token", Value="tok-123", Type="SecureString")
    ssm.put_parameter(Name="/apple", Value="not under /app", Type="String")
    # One level.
    out = ssm.get_parameters_by_path(Path="/app")
    assert [p["Name"] for p in out["Parameters"]] == ["/app/top"]
    # Recursive, paged by 5.
    names, token, pages = [], None, 0
    while True:
        kw = {"NextToken": token} if token else {}
        out = ssm.get_parameters_by_path(Path="/app/", Recursive=True, MaxResults=5, **kw)
        assert len(out["Parameters"]) <= 5
        names += [p["Name"] for p in out["Parameters"]]
        pages += 1
        token = out.get("NextToken")
        if not token:
            break
    assert pages >= 3
    assert names == sorted(names) and len(names) == 14 and "/apple" not in names
    expect(ssm.get_parameters_by_path, "InvalidNextToken", Path="/app", NextToken="bm9wZQ==")
    expect(raw_client(berth, "ssm").get_parameters_by_path, "ValidationException", Path="/app", MaxResults=11)
    # Filters: Type; keys GetParametersByPath does not take.
    out = ssm.get_parameters_by_path(Path="/app", Recursive=True,
                                     ParameterFilters=[{"Key": "Type", "Values": ["SecureString"]}])
    assert [p["Name"] for p in out["Parameters"]] == ["/app/sec/token"]
    assert out["Parameters"][0]["Value"] != "tok-123"
    expect(ssm.get_parameters_by_path, "InvalidFilterKey", Path="/app",
           ParameterFilters=[{"Key": "Name", "Values": ["x"]}])
    # The AWS CLI, with its paginator and decryption.
    rc, out, err = berth.aws("ssm", "get-parameters-by-path", "--path", "/app", "--recursive",
                             "--with-decryption", "--page-size", "4")
    assert rc == 0, err
    got = {p["Name"]: p["Value"] for p in json.loads(out)["Parameters"]}
    assert len(got) == 14 and got["/app/sec/token"] == "tok-123" and got["/app/svc/p11"] == "v11"


def test_history_labels_and_selectors(berth):
    ssm = berth.client("ssm")
    for i in range(1, 8):
        ssm.put_parameter(Name="/cfg/mode", Value=f"m{i}", Type="String", Overwrite=i > 1)
    out = ssm.label_parameter_version(Name="/cfg/mode", ParameterVersion=3, Labels=["prod", "1bad", "awsx"])
    assert out["ParameterVersion"] == 3 and sorted(out["InvalidLabels"]) == ["1bad", "awsx"]
    assert ssm.get_parameter(Name="/cfg/mode:prod")["Parameter"]["Value"] == "m3"
    # The label moves to the newest version when none is given.
    assert ssm.label_parameter_version(Name="/cfg/mode", Labels=["prod"])["ParameterVersion"] == 7
    p = ssm.get_parameter(Name="/cfg/mode:prod")["Parameter"]
    assert (p["Value"], p["Selector"]) == ("m7", ":prod")
    expect(ssm.get_parameter, "ParameterNotFound", Name="/cfg/mode:nolabel")
    expect(ssm.label_parameter_version, "ParameterVersionNotFound", Name="/cfg/mode", ParameterVersion=99,
           Labels=["x"])
    ssm.label_parameter_version(Name="/cfg/mode", ParameterVersion=2, Labels=[f"l{i}" for i in range(10)])
    expect(ssm.label_parameter_version, "ParameterVersionLabelLimitExceeded", Name="/cfg/mode",
           ParameterVersion=2, Labels=["one-more"])
    # History, paged, with labels per version.
    hist, token = [], None
    while True:
        kw = {"NextToken": token} if token else {}
        out = ssm.get_parameter_history(Name="/cfg/mode", MaxResults=3, **kw)
        hist += out["Parameters"]
        token = out.get("NextToken")
        if not token:
            break
    assert [h["Version"] for h in hist] == list(range(1, 8))
    assert [h["Value"] for h in hist] == [f"m{i}" for i in range(1, 8)]
    assert hist[6]["Labels"] == ["prod"] and len(hist[1]["Labels"]) == 10 and hist[0]["Labels"] == []
    assert hist[0]["LastModifiedUser"] == f"arn:aws:iam::{ACCOUNT}:root"
    out = ssm.unlabel_parameter_version(Name="/cfg/mode", ParameterVersion=7, Labels=["prod", "ghost"])
    assert (out["RemovedLabels"], out["InvalidLabels"]) == (["prod"], ["ghost"])
    expect(ssm.get_parameter_history, "ParameterNotFound", Name="/cfg/none")


def test_delete_describe_and_tags(berth):
    ssm = berth.client("ssm")
    ssm.put_parameter(Name="/d/a", Value="1", Type="String", Tags=[{"Key": "team", "Value": "core"}])
    ssm.put_parameter(Name="/d/b", Value="2", Type="StringList")
    ssm.put_parameter(Name="/d/deep/c", Value="3", Type="SecureString", Tier="Advanced")
    ssm.put_parameter(Name="/e/x", Value="4", Type="String")
    # DescribeParameters with ParameterFilters and the older Filters.
    out = ssm.describe_parameters(ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": ["/d"]}])
    assert [p["Name"] for p in out["Parameters"]] == ["/d/a", "/d/b", "/d/deep/c"]
    deep = out["Parameters"][2]
    assert (deep["Type"], deep["KeyId"], deep["Tier"], deep["ARN"]) == (
        "SecureString", "alias/aws/ssm", "Advanced", arn("/d/deep/c"))
    out = ssm.describe_parameters(ParameterFilters=[{"Key": "Path", "Values": ["/d"]},
                                                    {"Key": "Type", "Values": ["StringList"]}])
    assert [p["Name"] for p in out["Parameters"]] == ["/d/b"]
    out = ssm.describe_parameters(ParameterFilters=[{"Key": "tag:team", "Values": ["core"]}])
    assert [p["Name"] for p in out["Parameters"]] == ["/d/a"]
    out = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Option": "Contains", "Values": ["deep"]}])
    assert [p["Name"] for p in out["Parameters"]] == ["/d/deep/c"]
    out = ssm.describe_parameters(Filters=[{"Key": "Name", "Values": ["/e"]}])
    assert [p["Name"] for p in out["Parameters"]] == ["/e/x"]
    expect(ssm.describe_parameters, "ValidationException",
           "You can use either Filters or ParameterFilters in a single request.",
           Filters=[{"Key": "Name", "Values": ["/e"]}], ParameterFilters=[{"Key": "Type", "Values": ["String"]}])
    expect(ssm.describe_parameters, "InvalidFilterKey", ParameterFilters=[{"Key": "Label", "Values": ["x"]}])
    expect(ssm.describe_parameters, "InvalidFilterOption",
           ParameterFilters=[{"Key": "Path", "Option": "Deep", "Values": ["/d"]}])
    # Paging.
    first = ssm.describe_parameters(MaxResults=2)
    assert len(first["Parameters"]) == 2 and first["NextToken"]
    rest = ssm.describe_parameters(MaxResults=50, NextToken=first["NextToken"])
    assert len(first["Parameters"]) + len(rest["Parameters"]) == 4
    # Tags.
    ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId="/d/b",
                             Tags=[{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "x"}])
    tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/d/b")["TagList"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("env", "dev"), ("team", "x")]
    ssm.remove_tags_from_resource(ResourceType="Parameter", ResourceId="/d/b", TagKeys=["env"])
    assert ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/d/b")["TagList"] == [
        {"Key": "team", "Value": "x"}]
    expect(ssm.list_tags_for_resource, "InvalidResourceId", ResourceType="Parameter", ResourceId="/d/none")
    expect(ssm.add_tags_to_resource, "TooManyTagsError", ResourceType="Parameter", ResourceId="/d/b",
           Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    # Deletion.
    ssm.delete_parameter(Name="/d/a")
    expect(ssm.delete_parameter, "ParameterNotFound", Name="/d/a")
    out = ssm.delete_parameters(Names=["/d/b", "/d/none", "/d/deep/c"])
    assert (out["DeletedParameters"], out["InvalidParameters"]) == (["/d/b", "/d/deep/c"], ["/d/none"])
    assert [p["Name"] for p in ssm.describe_parameters()["Parameters"]] == ["/e/x"]


def test_secure_string_is_sealed_and_kms_is_asked_as_the_caller(berth):
    ssm = berth.client("ssm")
    kms = berth.client("kms")
    secret = "pw-Zq8Lr2Xv-unmistakable"
    # Default key: alias/aws/ssm, made on first use.
    ssm.put_parameter(Name="/sec/default", Value=secret, Type="SecureString")
    p = ssm.get_parameter(Name="/sec/default")["Parameter"]
    assert p["Value"] != secret
    assert ssm.get_parameter(Name="/sec/default", WithDecryption=True)["Parameter"]["Value"] == secret
    # The AWS managed key serves only through Parameter Store: KMS refuses it to a direct call.
    e = expect(kms.decrypt, "AccessDeniedException", CiphertextBlob=base64.b64decode(p["Value"]),
               EncryptionContext={"PARAMETER_ARN": arn("/sec/default")})
    assert "because no resource-based policy allows the kms:Decrypt action" in error_message(e)
    # Under a customer key, the value without decryption is a KMS ciphertext blob bound to the
    # parameter's ARN, which KMS Decrypt opens directly.
    key = kms.create_key(Description="p")["KeyMetadata"]
    ssm.put_parameter(Name="/sec/cmk", Value=secret, Type="SecureString", KeyId=key["Arn"])
    blob = base64.b64decode(ssm.get_parameter(Name="/sec/cmk")["Parameter"]["Value"])
    plain = kms.decrypt(CiphertextBlob=blob, EncryptionContext={"PARAMETER_ARN": arn("/sec/cmk")})
    assert plain["Plaintext"] == secret.encode() and plain["KeyId"] == key["Arn"]
    expect(kms.decrypt, "InvalidCiphertextException", CiphertextBlob=blob,
           EncryptionContext={"PARAMETER_ARN": arn("/sec/other")})
    aliases = [a["AliasName"] for a in kms.list_aliases()["Aliases"]]
    assert "alias/aws/ssm" in aliases
    # An advanced SecureString (envelope under a data key) round-trips too.
    big = "s" * 6000
    ssm.put_parameter(Name="/sec/big", Value=big, Type="SecureString", Tier="Advanced")
    assert ssm.get_parameter(Name="/sec/big", WithDecryption=True)["Parameter"]["Value"] == big
    # Unknown key.
    expect(ssm.put_parameter, "InvalidKeyId", Name="/sec/k", Value="x", Type="SecureString",
           KeyId="alias/nope")
    # The plaintext is nowhere in the data directory.
    for f in berth.data_dir.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            assert secret.encode() not in data, f
            assert big.encode() not in data, f


def test_iam_enforcement_paths_and_kms(berth):
    kms = berth.client("kms")
    ssm = berth.client("ssm")
    key = kms.create_key(Description="params")["KeyMetadata"]
    ssm.put_parameter(Name="/team-a/db", Value="a", Type="String")
    ssm.put_parameter(Name="/team-b/db", Value="b", Type="String")
    reader = user_creds(berth, "reader", allow(["ssm:GetParameter"], arn("/team-a/*")))
    rs = berth.client("ssm", creds=reader)
    assert rs.get_parameter(Name="/team-a/db")["Parameter"]["Value"] == "a"
    e = expect(rs.get_parameter, "AccessDeniedException", Name="/team-b/db")
    assert error_message(e) == (
        f"User: arn:aws:iam::{ACCOUNT}:user/reader is not authorized to perform: ssm:GetParameter on resource: "
        f"{arn('/team-b/db')} because no identity-based policy allows the ssm:GetParameter action")
    # A missing parameter the caller may not read is a denial, not a ParameterNotFound.
    expect(rs.get_parameter, "AccessDeniedException", Name="/team-b/missing")
    expect(rs.get_parameter, "ParameterNotFound", Name="/team-a/missing")
    expect(rs.put_parameter, "AccessDeniedException", Name="/team-a/new", Value="x", Type="String")

    # A SecureString under a customer key: the writer may encrypt, not decrypt.
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ssm:PutParameter", "ssm:GetParameter"], "Resource": arn("/vault/*")},
        {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:GenerateDataKey"], "Resource": key["Arn"]},
    ]}
    writer = user_creds(berth, "writer", policy)
    ws = berth.client("ssm", creds=writer)
    ws.put_parameter(Name="/vault/token", Value="v-secret", Type="SecureString", KeyId=key["KeyId"])
    assert ws.get_parameter(Name="/vault/token")["Parameter"]["Value"] != "v-secret"
    e = expect(ws.get_parameter, "AccessDeniedException", Name="/vault/token", WithDecryption=True)
    msg = error_message(e)
    assert msg.startswith(
        f"User: arn:aws:iam::{ACCOUNT}:user/writer is not authorized to perform: kms:Decrypt on resource: "
        f"{key['Arn']} because no identity-based policy allows the kms:Decrypt action"), msg
    assert "(Service: AWSKMS; Status Code: 400; Error Code: AccessDeniedException; Request ID: " in msg
    # A user without kms:Encrypt cannot write under the key.
    nokms = user_creds(berth, "nokms", allow(["ssm:PutParameter"], arn("/vault/*")))
    e = expect(berth.client("ssm", creds=nokms).put_parameter, "AccessDeniedException",
               Name="/vault/other", Value="x", Type="SecureString", KeyId=key["Arn"])
    assert "kms:Encrypt" in error_message(e)
    # The grant: now it decrypts.
    policy["Statement"][1]["Action"].append("kms:Decrypt")
    berth.client("iam").put_user_policy(UserName="writer", PolicyName="p", PolicyDocument=json.dumps(policy))
    assert ws.get_parameter(Name="/vault/token", WithDecryption=True)["Parameter"]["Value"] == "v-secret"
    # The key policy decides too: one that allows only the root's key administration denies.
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": ["kms:PutKeyPolicy", "kms:GetKeyPolicy", "kms:DescribeKey"], "Resource": "*"}]}))
    e = expect(ws.get_parameter, "AccessDeniedException", Name="/vault/token", WithDecryption=True)
    assert "kms:Decrypt" in error_message(e)


def test_unknown_operation_and_cli_errors(berth):
    rc, out, err = berth.aws("ssm", "get-parameter", "--name", "/nothing")
    assert rc != 0 and "ParameterNotFound" in err
    rc, out, err = berth.aws("ssm", "put-parameter", "--name", "/cli/p", "--value", "v", "--type", "String")
    assert rc == 0 and json.loads(out)["Version"] == 1, err
    rc, out, err = berth.aws("ssm", "put-parameter", "--name", "/cli/p", "--value", "v", "--type", "String")
    assert rc != 0 and EXISTS in err
    status, _, body = berth.raw(b"{}", headers={"X-Amz-Target": "AmazonSSM.SendCommand",
                                                "Content-Type": "application/x-amz-json-1.1"},
                                sign=("ssm", REGION))
    assert status == 400 and json.loads(body)["__type"].endswith("UnknownOperationException")
