"""Secrets Manager, every operation of the model: none is unknown to berth; GetRandomPassword,
rotation (without Lambda), replication across berth's regions, ValidateResourcePolicy's verdict,
ListResourcePolicies; and the details AWS's answers have (dates with milliseconds, tokens,
forced deletion of a missing secret, word filters, staging labels, per-version access dates)."""

import json
import pathlib
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import REGION, error_code, error_message, json_body
from helpers import allow, user_creds

ACCOUNT = "000000000000"
OTHER_REGION = "eu-west-1"
PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
CANNOT_INVOKE = ("Secrets Manager cannot invoke the specified Lambda function. Ensure that the "
                 "function policy grants access to the principal secretsmanager.amazonaws.com.")
NO_LAMBDA = "No Lambda rotation function ARN is associated with this secret."
TOKEN_REQUIRED = "You must provide a ClientRequestToken value. We recommend a UUID-type value."
LAMBDA = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:rotate-me"
MODEL = pathlib.Path(__file__).resolve().parents[2] / "models" / "secretsmanager.json"


def expect(call, code, message=None, **kwargs):
    with pytest.raises(ClientError) as e:
        call(**kwargs)
    assert error_code(e.value) == code, e.value.response
    if message is not None:
        assert error_message(e.value) == message, e.value.response
    return e.value


def raw_call(berth, operation, payload, region=REGION):
    """One signed JSON request, exactly as given (no SDK fills anything in)."""
    status, _, raw = berth.raw(
        json.dumps(payload).encode(),
        headers={"Content-Type": "application/x-amz-json-1.1",
                 "X-Amz-Target": f"secretsmanager.{operation}"},
        sign=("secretsmanager", region))
    return status, json_body(raw)


def test_every_model_operation_is_known(berth):
    operations = sorted(json.loads(MODEL.read_text())["operations"])
    assert len(operations) >= 26
    for op in operations:
        status, body = raw_call(berth, op, {})
        assert body.get("__type") != "UnknownOperationException", (op, body)
        assert status in (200, 400), (op, status, body)
    # The check itself can fail: an operation the model does not have is unknown.
    _, body = raw_call(berth, "NoSuchOperation", {})
    assert body.get("__type") == "UnknownOperationException"


def test_get_random_password(berth):
    sm = berth.client("secretsmanager")
    p = sm.get_random_password()["RandomPassword"]
    assert len(p) == 32
    assert any(c.islower() for c in p) and any(c.isupper() for c in p)
    assert any(c.isdigit() for c in p) and any(c in PUNCTUATION for c in p)
    assert " " not in p
    assert sm.get_random_password()["RandomPassword"] != p
    p = sm.get_random_password(PasswordLength=200, ExcludePunctuation=True, ExcludeUppercase=True,
                               ExcludeCharacters="abcxyz019", IncludeSpace=True)["RandomPassword"]
    assert len(p) == 200
    assert all(c.islower() or c.isdigit() or c == " " for c in p)
    assert not set(p) & set("abcxyz019")
    assert " " in p
    p = sm.get_random_password(PasswordLength=1, RequireEachIncludedType=False)["RandomPassword"]
    assert len(p) == 1
    expect(sm.get_random_password, "InvalidParameterException", PasswordLength=3)
    expect(sm.get_random_password, "InvalidParameterException", ExcludeLowercase=True,
           ExcludeUppercase=True, ExcludeNumbers=True, ExcludePunctuation=True)
    e = expect(berth.client("secretsmanager", creds=user_creds(berth, "no-pw")).get_random_password,
               "AccessDeniedException")
    assert "secretsmanager:GetRandomPassword" in error_message(e)


def test_get_random_password_bounds_on_the_wire(berth):
    for bad in (0, 4097):
        status, body = raw_call(berth, "GetRandomPassword", {"PasswordLength": bad})
        assert status == 400 and body["__type"] == "ValidationException", body
        assert "passwordLength" in body["Message"]


def test_rotation_without_lambda(berth):
    sm = berth.client("secretsmanager")
    sm.create_secret(Name="rot/db", SecretString="v1")
    expect(sm.rotate_secret, "InvalidRequestException", NO_LAMBDA, SecretId="rot/db")
    expect(sm.rotate_secret, "AccessDeniedException", CANNOT_INVOKE, SecretId="rot/db",
           RotationLambdaARN=LAMBDA, RotationRules={"AutomaticallyAfterDays": 30})
    expect(sm.rotate_secret, "AccessDeniedException", CANNOT_INVOKE, SecretId="rot/db",
           RotationLambdaARN=LAMBDA,
           RotationRules={"ScheduleExpression": "cron(0 16 1,15 * ? *)", "Duration": "2h"})
    # Rules are checked first.
    expect(sm.rotate_secret, "InvalidParameterException", SecretId="rot/db", RotationLambdaARN=LAMBDA,
           RotationRules={"AutomaticallyAfterDays": 5, "ScheduleExpression": "rate(5 days)"})
    expect(sm.rotate_secret, "InvalidParameterException", SecretId="rot/db", RotationLambdaARN=LAMBDA,
           RotationRules={"ScheduleExpression": "rate(2 hours)"})
    expect(sm.rotate_secret, "InvalidParameterException", SecretId="rot/db", RotationLambdaARN=LAMBDA,
           RotationRules={"ScheduleExpression": "rate(4 hours)", "Duration": "4h"})
    for rules in ({"AutomaticallyAfterDays": 0}, {"AutomaticallyAfterDays": 1001},
                  {"ScheduleExpression": "rate(1 day);"}, {"Duration": "3d"}):
        status, body = raw_call(berth, "RotateSecret", {
            "SecretId": "rot/db", "RotationLambdaARN": LAMBDA, "RotationRules": rules,
            "ClientRequestToken": str(uuid.uuid4())})
        assert status == 400 and body["__type"] == "ValidationException", (rules, body)
    # Nothing was stored by the refused calls.
    d = sm.describe_secret(SecretId="rot/db")
    assert "RotationEnabled" not in d and "RotationRules" not in d and "NextRotationDate" not in d
    # Cancelling answers the secret (and no version: none is AWSPENDING).
    out = sm.cancel_rotate_secret(SecretId="rot/db")
    assert out["Name"] == "rot/db" and "VersionId" not in out
    # Authorised with AWS's action on the secret.
    weak = berth.client("secretsmanager", creds=user_creds(berth, "no-rotate",
                                                           allow("secretsmanager:DescribeSecret")))
    e = expect(weak.rotate_secret, "AccessDeniedException", SecretId="rot/db", RotationLambdaARN=LAMBDA)
    assert "secretsmanager:RotateSecret on resource: rot/db" in error_message(e)
    e = expect(weak.cancel_rotate_secret, "AccessDeniedException", SecretId="rot/db")
    assert "secretsmanager:CancelRotateSecret" in error_message(e)


def test_replication_across_berths_regions(berth):
    sm = berth.client("secretsmanager")
    far = berth.client("secretsmanager", region=OTHER_REGION)
    arn = sm.create_secret(Name="rep/db", SecretString="one", Tags=[{"Key": "team", "Value": "a"}])["ARN"]
    out = sm.replicate_secret_to_regions(SecretId="rep/db", AddReplicaRegions=[{"Region": OTHER_REGION}])
    assert out["ARN"] == arn
    assert out["ReplicationStatus"] == [{"Region": OTHER_REGION, "KmsKeyId": "alias/aws/secretsmanager",
                                         "Status": "InSync", "StatusMessage": "Replication succeeded"}]
    d = sm.describe_secret(SecretId="rep/db")
    assert d["PrimaryRegion"] == REGION
    assert [r["Status"] for r in d["ReplicationStatus"]] == ["InSync"]
    # The replica: same name and suffix, its own region, read-only, the same value.
    replica_arn = arn.replace(f":{REGION}:", f":{OTHER_REGION}:")
    r = far.describe_secret(SecretId="rep/db")
    assert r["ARN"] == replica_arn and r["PrimaryRegion"] == REGION
    assert r["Tags"] == [{"Key": "team", "Value": "a"}]
    assert far.get_secret_value(SecretId="rep/db")["SecretString"] == "one"
    assert far.get_secret_value(SecretId=replica_arn)["ARN"] == replica_arn
    expect(far.put_secret_value, "InvalidRequestException", SecretId="rep/db", SecretString="no")
    expect(far.update_secret, "InvalidRequestException", SecretId="rep/db", Description="no")
    # Writes to the primary reach the replica.
    v2 = sm.put_secret_value(SecretId="rep/db", SecretString="two")["VersionId"]
    got = far.get_secret_value(SecretId="rep/db")
    assert got["SecretString"] == "two" and got["VersionId"] == v2
    sm.update_secret(SecretId="rep/db", Description="now described")
    assert far.describe_secret(SecretId="rep/db")["Description"] == "now described"
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})
    sm.put_resource_policy(SecretId="rep/db", ResourcePolicy=policy)
    assert json.loads(far.get_resource_policy(SecretId="rep/db")["ResourcePolicy"]) == json.loads(policy)
    expect(far.delete_secret, "InvalidRequestException", SecretId="rep/db", ForceDeleteWithoutRecovery=True)
    expect(far.tag_resource, "InvalidRequestException", SecretId="rep/db", Tags=[{"Key": "x", "Value": "y"}])
    # Not a region berth answers to, nor the secret's own.
    expect(sm.replicate_secret_to_regions, "InvalidParameterException", SecretId="rep/db",
           AddReplicaRegions=[{"Region": REGION}])
    # A primary with replicas is not deleted.
    expect(sm.delete_secret, "InvalidRequestException", SecretId="rep/db")
    # Removing the region deletes the replica.
    out = sm.remove_regions_from_replication(SecretId="rep/db", RemoveReplicaRegions=[OTHER_REGION])
    assert out["ReplicationStatus"] == []
    expect(far.describe_secret, "ResourceNotFoundException", SecretId="rep/db")
    assert "ReplicationStatus" not in sm.describe_secret(SecretId="rep/db")
    # Replicate again, then promote the replica: it becomes a standalone, writable secret.
    sm.replicate_secret_to_regions(SecretId="rep/db", AddReplicaRegions=[{"Region": OTHER_REGION}])
    expect(sm.stop_replication_to_replica, "InvalidRequestException", SecretId="rep/db")
    assert far.stop_replication_to_replica(SecretId="rep/db")["ARN"] == replica_arn
    assert "PrimaryRegion" not in far.describe_secret(SecretId="rep/db")
    far.put_secret_value(SecretId="rep/db", SecretString="mine now")
    assert sm.get_secret_value(SecretId="rep/db")["SecretString"] == "two"
    assert "ReplicationStatus" not in sm.describe_secret(SecretId="rep/db")
    # A name taken in the target region: the replica fails, unless overwritten.
    out = sm.replicate_secret_to_regions(SecretId="rep/db", AddReplicaRegions=[{"Region": OTHER_REGION}])
    assert out["ReplicationStatus"][0]["Status"] == "Failed"
    out = sm.replicate_secret_to_regions(SecretId="rep/db", AddReplicaRegions=[{"Region": OTHER_REGION}],
                                         ForceOverwriteReplicaSecret=True)
    assert out["ReplicationStatus"][0]["Status"] == "InSync"
    assert far.get_secret_value(SecretId="rep/db")["SecretString"] == "two"
    # CreateSecret's AddReplicaRegions.
    created = sm.create_secret(Name="rep/new", SecretString="x", AddReplicaRegions=[{"Region": OTHER_REGION}])
    assert [(r["Region"], r["Status"]) for r in created["ReplicationStatus"]] == [(OTHER_REGION, "InSync")]
    assert far.get_secret_value(SecretId="rep/new")["SecretString"] == "x"
    # Authorised with AWS's actions.
    weak = berth.client("secretsmanager", creds=user_creds(berth, "no-rep", allow("secretsmanager:DescribeSecret")))
    e = expect(weak.replicate_secret_to_regions, "AccessDeniedException", SecretId="rep/db",
               AddReplicaRegions=[{"Region": "eu-west-2"}])
    assert "secretsmanager:ReplicateSecretToRegions" in error_message(e)
    e = expect(weak.remove_regions_from_replication, "AccessDeniedException", SecretId="rep/db",
               RemoveReplicaRegions=[OTHER_REGION])
    assert "secretsmanager:RemoveRegionsFromReplication" in error_message(e)


def test_validate_resource_policy_and_list_resource_policies(berth):
    sm = berth.client("secretsmanager")
    sm.create_secret(Name="pol/one", SecretString="x")
    good = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})
    out = sm.validate_resource_policy(SecretId="pol/one", ResourcePolicy=good)
    assert out["PolicyValidationPassed"] is True and out["ValidationErrors"] == []
    no_principal = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})
    out = sm.validate_resource_policy(ResourcePolicy=no_principal)
    assert out["PolicyValidationPassed"] is False
    assert len(out["ValidationErrors"]) == 1 and out["ValidationErrors"][0]["ErrorMessage"]
    # ListResourcePolicies is newer than this boto3: asked on the wire.
    assert raw_call(berth, "ListResourcePolicies", {"SecretId": "pol/one"}) == (200, {"ResourcePolicies": []})
    sm.put_resource_policy(SecretId="pol/one", ResourcePolicy=good)
    assert raw_call(berth, "ListResourcePolicies", {"SecretId": "pol/one"}) == (
        200, {"ResourcePolicies": [{"PolicyName": "default"}]})


def test_dates_carry_milliseconds_and_access_is_per_version(berth):
    sm = berth.client("secretsmanager")
    t1, t2 = str(uuid.uuid4()), str(uuid.uuid4())
    sm.create_secret(Name="dates/one", SecretString="a", ClientRequestToken=t1)
    sm.put_secret_value(SecretId="dates/one", SecretString="b", ClientRequestToken=t2)
    sm.get_secret_value(SecretId="dates/one", VersionId=t1)
    _, d = raw_call(berth, "DescribeSecret", {"SecretId": "dates/one"})
    assert isinstance(d["CreatedDate"], float) and isinstance(d["LastChangedDate"], float), d
    assert d["LastAccessedDate"] % 86400 == 0, d
    _, v = raw_call(berth, "ListSecretVersionIds", {"SecretId": "dates/one"})
    by_id = {x["VersionId"]: x for x in v["Versions"]}
    assert isinstance(by_id[t1]["CreatedDate"], float)
    assert by_id[t1]["LastAccessedDate"] % 86400 == 0
    assert "LastAccessedDate" not in by_id[t2]
    sm.get_secret_value(SecretId="dates/one")
    _, v = raw_call(berth, "ListSecretVersionIds", {"SecretId": "dates/one"})
    assert all("LastAccessedDate" in x for x in v["Versions"])
    _, g = raw_call(berth, "GetSecretValue", {"SecretId": "dates/one"})
    assert isinstance(g["CreatedDate"], float)
    _, deleted = raw_call(berth, "DeleteSecret", {"SecretId": "dates/one", "RecoveryWindowInDays": 7})
    assert isinstance(deleted["DeletionDate"], float)
    _, d = raw_call(berth, "DescribeSecret", {"SecretId": "dates/one"})
    assert isinstance(d["DeletedDate"], float)


def test_client_request_token_is_required_on_the_wire(berth):
    status, body = raw_call(berth, "CreateSecret", {"Name": "tok/one", "SecretString": "x"})
    assert (status, body) == (400, {"__type": "InvalidRequestException", "Message": TOKEN_REQUIRED})
    # Without a value there is no version, and no token is needed.
    status, body = raw_call(berth, "CreateSecret", {"Name": "tok/one"})
    assert status == 200 and "VersionId" not in body, body
    status, body = raw_call(berth, "PutSecretValue", {"SecretId": "tok/one", "SecretString": "x"})
    assert (status, body["__type"], body["Message"]) == (400, "InvalidRequestException", TOKEN_REQUIRED)
    status, body = raw_call(berth, "UpdateSecret", {"SecretId": "tok/one", "SecretString": "x"})
    assert (status, body["__type"], body["Message"]) == (400, "InvalidRequestException", TOKEN_REQUIRED)
    status, _ = raw_call(berth, "UpdateSecret", {"SecretId": "tok/one", "Description": "d"})
    assert status == 200
    # The SDK fills it in.
    assert berth.client("secretsmanager").put_secret_value(SecretId="tok/one", SecretString="y")["VersionId"]


def test_forced_deletion_of_a_missing_secret_succeeds(berth):
    sm = berth.client("secretsmanager")
    out = sm.delete_secret(SecretId="never/was", ForceDeleteWithoutRecovery=True)
    assert out["Name"] == "never/was"
    assert out["ARN"] == f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:never/was"
    assert "DeletionDate" in out
    expect(sm.delete_secret, "ResourceNotFoundException", SecretId="never/was")
    # Still authorised first.
    weak = berth.client("secretsmanager", creds=user_creds(berth, "no-delete"))
    expect(weak.delete_secret, "AccessDeniedException", SecretId="never/was", ForceDeleteWithoutRecovery=True)


def test_word_filters_labels_and_tags(berth):
    sm = berth.client("secretsmanager")
    sm.create_secret(Name="words/prod-db", Description="Primary database credentials", SecretString="x")
    sm.create_secret(Name="words/staging-api", SecretString="x")

    def names(key, *values):
        return sorted(s["Name"] for s in sm.list_secrets(Filters=[{"Key": key, "Values": list(values)}])["SecretList"])

    assert names("name", "db") == ["words/prod-db"]
    assert names("name", "api prod") == []
    assert names("name", "words") == ["words/prod-db", "words/staging-api"]
    assert names("description", "database primary") == ["words/prod-db"]
    assert names("all", "credentials words") == ["words/prod-db"]
    # PutSecretValue: the version AWSCURRENT leaves keeps no AWSPENDING.
    first = sm.describe_secret(SecretId="words/prod-db")["VersionIdsToStages"]
    (v1,) = first
    sm.update_secret_version_stage(SecretId="words/prod-db", VersionStage="AWSPENDING", MoveToVersionId=v1)
    v2 = sm.put_secret_value(SecretId="words/prod-db", SecretString="y")["VersionId"]
    stages = sm.describe_secret(SecretId="words/prod-db")["VersionIdsToStages"]
    assert stages == {v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT"]}
    # Tags: absent until tagged; [] once all are removed.
    assert "Tags" not in sm.describe_secret(SecretId="words/staging-api")
    sm.tag_resource(SecretId="words/staging-api", Tags=[{"Key": "k", "Value": "v"}])
    sm.untag_resource(SecretId="words/staging-api", TagKeys=["k"])
    assert sm.describe_secret(SecretId="words/staging-api")["Tags"] == []


def test_names_are_checked_wherever_a_name_is_given(berth):
    sm = berth.client("secretsmanager")
    invalid = ("Invalid name. Must be a valid name containing alphanumeric characters, or any of the "
               "following: -/_+=.@!")
    expect(sm.create_secret, "ValidationException", invalid, Name="has space", SecretString="x")
    for call, extra in ((sm.get_secret_value, {}), (sm.describe_secret, {}),
                        (sm.put_secret_value, {"SecretString": "x"}), (sm.delete_secret, {}),
                        (sm.tag_resource, {"Tags": [{"Key": "k", "Value": "v"}]}),
                        (sm.list_secret_version_ids, {})):
        expect(call, "ValidationException", invalid, SecretId="has space", **extra)
    errors = sm.batch_get_secret_value(SecretIdList=["semi;colon"])["Errors"]
    assert [(e["SecretId"], e["ErrorCode"], e["Message"]) for e in errors] == [
        ("semi;colon", "ValidationException", invalid)]


def test_cli_password_rotation_and_replication(berth):
    rc, out, err = berth.aws("secretsmanager", "get-random-password", "--password-length", "20",
                             "--exclude-punctuation")
    assert rc == 0, err
    p = json.loads(out)["RandomPassword"]
    assert len(p) == 20 and p.isalnum()
    rc, out, err = berth.aws("secretsmanager", "create-secret", "--name", "cli/rot", "--secret-string", "v")
    assert rc == 0, err
    rc, out, err = berth.aws("secretsmanager", "rotate-secret", "--secret-id", "cli/rot",
                             "--rotation-lambda-arn", LAMBDA, "--rotation-rules",
                             '{"ScheduleExpression": "rate(10 days)"}')
    assert rc == 255
    assert f"An error occurred (AccessDeniedException) when calling the RotateSecret operation: {CANNOT_INVOKE}" in err
    rc, out, err = berth.aws("secretsmanager", "replicate-secret-to-regions", "--secret-id", "cli/rot",
                             "--add-replica-regions", f"Region={OTHER_REGION}")
    assert rc == 0, err
    assert json.loads(out)["ReplicationStatus"][0]["Status"] == "InSync"
    rc, out, err = berth.aws("secretsmanager", "get-secret-value", "--secret-id", "cli/rot",
                             region=OTHER_REGION)
    assert rc == 0, err
    assert json.loads(out)["SecretString"] == "v"
    # The primary names its region.
    rc, out, err = berth.aws("secretsmanager", "describe-secret", "--secret-id", "cli/rot")
    assert rc == 0, err
    assert json.loads(out)["PrimaryRegion"] == REGION
