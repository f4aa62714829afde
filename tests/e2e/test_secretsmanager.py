"""Secrets Manager end to end: secrets, versions, staging labels, deletion, resource policies,
and envelope encryption through KMS as the calling principal — with AWS's errors and messages."""

import json
import os
import re
import time

import boto3
import pytest
from botocore.exceptions import ClientError

from conftest import REGION, Creds, error_code, error_message, store_bytes
from helpers import allow, expect, other_account, raw_client, user_creds

ACCOUNT = "000000000000"
OTHER = "111122223333"
NOT_FOUND = "Secrets Manager can't find the specified secret."
MARKED = "You can't perform this operation on the secret because it was marked for deletion."
KMS_DENIED = "Access to KMS is not allowed"
ARN_RE = re.compile(rf"^arn:aws:secretsmanager:{REGION}:(\d{{12}}):secret:(.+)-([A-Za-z0-9]{{6}})$")


# --- the seed flow --------------------------------------------------------------------------


def test_seed_flow_customer_managed_key(berth):
    kms = berth.client("kms")
    sm = berth.client("secretsmanager")
    key = kms.create_key(Description="registry credentials")["KeyMetadata"]
    value = json.dumps({"username": "registry-user", "password": "s3cr3t-p@ss"})
    created = sm.create_secret(Name="registry/creds", SecretString=value, KmsKeyId=key["Arn"],
                               Description="private registry")
    m = ARN_RE.match(created["ARN"])
    assert m and m.group(1) == ACCOUNT and m.group(2) == "registry/creds", created["ARN"]
    assert created["Name"] == "registry/creds"
    got = sm.get_secret_value(SecretId="registry/creds")
    assert json.loads(got["SecretString"]) == {"username": "registry-user", "password": "s3cr3t-p@ss"}
    assert got["ARN"] == created["ARN"] and got["VersionId"] == created["VersionId"]
    assert got["VersionStages"] == ["AWSCURRENT"]
    assert "SecretBinary" not in got

    desc = sm.describe_secret(SecretId=created["ARN"])
    assert desc["KmsKeyId"] == key["Arn"]
    assert desc["Description"] == "private registry"
    assert desc["VersionIdsToStages"] == {created["VersionId"]: ["AWSCURRENT"]}
    versions = sm.list_secret_version_ids(SecretId="registry/creds")["Versions"]
    assert versions[0]["KmsKeyIds"] == [key["Arn"]]

    # The CLI reads it too.
    rc, out, err = berth.aws("secretsmanager", "get-secret-value", "--secret-id", "registry/creds")
    assert rc == 0, err
    assert json.loads(json.loads(out)["SecretString"])["password"] == "s3cr3t-p@ss"

    # The key does the work: disabled, the secret cannot be read; enabled again, it can.
    kms.disable_key(KeyId=key["KeyId"])
    expect(sm.get_secret_value, "DecryptionFailure", SecretId="registry/creds")
    expect(sm.put_secret_value, "EncryptionFailure", SecretId="registry/creds", SecretString="new")
    kms.enable_key(KeyId=key["KeyId"])
    assert sm.get_secret_value(SecretId="registry/creds")["SecretString"] == value


def test_update_secret_kms_key_reencrypts_labelled_versions(berth):
    kms = berth.client("kms")
    sm = berth.client("secretsmanager")
    old = kms.create_key()["KeyMetadata"]
    new = kms.create_key()["KeyMetadata"]
    sm.create_secret(Name="moving", SecretString="v1", KmsKeyId=old["KeyId"])
    sm.put_secret_value(SecretId="moving", SecretString="v2")
    sm.update_secret(SecretId="moving", KmsKeyId=new["Arn"])
    assert sm.describe_secret(SecretId="moving")["KmsKeyId"] == new["Arn"]
    versions = sm.list_secret_version_ids(SecretId="moving")["Versions"]
    assert {v["KmsKeyIds"][0] for v in versions} == {new["Arn"]}
    # The old key is no longer needed.
    kms.disable_key(KeyId=old["KeyId"])
    assert sm.get_secret_value(SecretId="moving")["SecretString"] == "v2"
    assert sm.get_secret_value(SecretId="moving", VersionStage="AWSPREVIOUS")["SecretString"] == "v1"
    # An empty KmsKeyId goes back to the AWS managed key.
    sm.update_secret(SecretId="moving", KmsKeyId="")
    assert "KmsKeyId" not in sm.describe_secret(SecretId="moving")
    kms.disable_key(KeyId=new["KeyId"])
    assert sm.get_secret_value(SecretId="moving")["SecretString"] == "v2"


def test_default_key_is_made_on_first_use(berth):
    kms = berth.client("kms")
    sm = berth.client("secretsmanager")
    assert kms.list_aliases()["Aliases"] == []
    sm.create_secret(Name="plain", SecretString="v1")
    aliases = {a["AliasName"]: a for a in kms.list_aliases()["Aliases"]}
    assert "alias/aws/secretsmanager" in aliases
    managed = kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]
    assert managed["KeyManager"] == "AWS"
    desc = sm.describe_secret(SecretId="plain")
    assert "KmsKeyId" not in desc
    assert sm.list_secret_version_ids(SecretId="plain")["Versions"][0]["KmsKeyIds"] == [managed["Arn"]]
    sm.create_secret(Name="plain2", SecretString="v2")
    assert len(kms.list_keys()["Keys"]) == 1
    assert sm.get_secret_value(SecretId="plain2")["SecretString"] == "v2"
    # Binary values round-trip.
    sm.create_secret(Name="bin", SecretBinary=b"\x00\x01\xffbinary")
    got = sm.get_secret_value(SecretId="bin")
    assert got["SecretBinary"] == b"\x00\x01\xffbinary" and "SecretString" not in got


# --- SecretId resolution --------------------------------------------------------------------


def test_name_partial_and_full_arn(berth):
    sm = berth.client("secretsmanager")
    arn = sm.create_secret(Name="db/prod", SecretString="pw")["ARN"]
    partial = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:db/prod"
    for sid in ["db/prod", partial, arn]:
        assert sm.get_secret_value(SecretId=sid)["ARN"] == arn, sid
        assert sm.describe_secret(SecretId=sid)["ARN"] == arn
    # A full ARN must be exact.
    wrong = arn[:-6] + ("AAAAAA" if not arn.endswith("AAAAAA") else "BBBBBB")
    expect(sm.get_secret_value, "ResourceNotFoundException", NOT_FOUND, SecretId=wrong)
    expect(sm.get_secret_value, "ResourceNotFoundException", NOT_FOUND, SecretId="db/missing")
    expect(sm.get_secret_value, "ResourceNotFoundException", NOT_FOUND, SecretId=partial + "x")
    # Another region has its own secrets.
    expect(berth.client("secretsmanager", region="eu-west-1").get_secret_value,
           "ResourceNotFoundException", NOT_FOUND, SecretId="db/prod")
    # A name whose last segment looks like a suffix is still a name.
    arn2 = sm.create_secret(Name="app-abcdef", SecretString="x")["ARN"]
    assert sm.get_secret_value(SecretId="app-abcdef")["ARN"] == arn2
    assert sm.get_secret_value(SecretId=arn2)["ARN"] == arn2


# --- bad input ------------------------------------------------------------------------------


def test_bad_input(berth):
    sm = berth.client("secretsmanager")
    raw = raw_client(berth, "secretsmanager")
    name_msg = ("Invalid name. Must be a valid name containing alphanumeric characters, "
                "or any of the following: -/_+=.@!")
    for bad in ["has space", "star*", "q?", "semi;colon", "a" * 513]:
        expect(sm.create_secret, "ValidationException", name_msg, Name=bad, SecretString="x")
    sm.create_secret(Name="ok/_+=.@-" + "a" * 503, SecretString="x")

    expect(sm.create_secret, "InvalidParameterException",
           "You can't specify both a binary secret value and a string secret value in the same secret.",
           Name="both", SecretString="x", SecretBinary=b"y")
    expect(sm.create_secret, "ValidationException", Name="big", SecretString="x" * 65_537)
    expect(sm.create_secret, "ValidationException", Name="bigbin", SecretBinary=b"x" * 65_537)
    sm.create_secret(Name="max", SecretString="x" * 65_536)
    assert len(sm.get_secret_value(SecretId="max")["SecretString"]) == 65_536

    sm.create_secret(Name="s", SecretString="x")
    expect(sm.put_secret_value, "InvalidParameterException", SecretId="s", SecretString="x", SecretBinary=b"y")
    expect(sm.put_secret_value, "ValidationException", SecretId="s", SecretString="x" * 65_537)
    # Version ids are 32-64 characters (botocore checks the minimum itself; the server does too).
    for bad in ["short", "x" * 65]:
        e = expect(raw.put_secret_value, "ValidationException", SecretId="s", SecretString="y",
                   ClientRequestToken=bad)
        assert "clientRequestToken" in error_message(e)
        expect(raw.get_secret_value, "ValidationException", SecretId="s", VersionId=bad)
    expect(sm.get_secret_value, "ResourceNotFoundException",
           "Secrets Manager can't find the specified secret value for VersionId: " + "f" * 32,
           SecretId="s", VersionId="f" * 32)
    expect(sm.get_secret_value, "ResourceNotFoundException",
           "Secrets Manager can't find the specified secret value for staging label: NOPE",
           SecretId="s", VersionStage="NOPE")

    for bad in [0, 6, 31, 365]:
        expect(sm.delete_secret, "InvalidParameterException",
               "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).",
               SecretId="s", RecoveryWindowInDays=bad)
    expect(sm.delete_secret, "InvalidParameterException",
           "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
           SecretId="s", RecoveryWindowInDays=7, ForceDeleteWithoutRecovery=True)

    expect(sm.put_resource_policy, "ValidationException", SecretId="s", ResourcePolicy="x" * 20_481)
    expect(sm.put_resource_policy, "MalformedPolicyDocumentException", SecretId="s", ResourcePolicy="{not json")
    expect(sm.put_resource_policy, "MalformedPolicyDocumentException", SecretId="s",
           ResourcePolicy=json.dumps(allow("secretsmanager:GetSecretValue")))  # no Principal
    expect(sm.validate_resource_policy, "MalformedPolicyDocumentException", ResourcePolicy="[1]")

    # Unknown KMS keys and aliases.
    expect(sm.create_secret, "InvalidParameterException",
           "The operation failed because of an invalid KMS key: "
           f"Alias arn:aws:kms:{REGION}:{ACCOUNT}:alias/does-not-exist is not found.",
           Name="k1", SecretString="x", KmsKeyId="alias/does-not-exist")
    expect(sm.create_secret, "InvalidParameterException", Name="k2", SecretString="x",
           KmsKeyId="11111111-2222-3333-4444-555555555555")
    expect(sm.create_secret, "InvalidParameterException",
           "The operation failed because of an invalid KMS key: Invalid arn eu-west-1",
           Name="k3", SecretString="x",
           KmsKeyId=f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555")
    # Nothing was left behind by the failed creates.
    names = {s["Name"] for s in sm.list_secrets()["SecretList"]}
    assert not names & {"both", "big", "bigbin", "k1", "k2", "k3"}

    expect(raw.get_secret_value, "ValidationException", SecretId="")
    expect(raw.create_secret, "ValidationException", SecretString="x")


# --- versions and staging labels ------------------------------------------------------------


def test_versions_and_staging_labels(berth):
    sm = berth.client("secretsmanager")
    t1, t2, t3, t4 = ("a" * 32, "b" * 32, "c" * 32, "d" * 32)
    created = sm.create_secret(Name="rot", SecretString="v1", ClientRequestToken=t1)
    assert created["VersionId"] == t1
    # Same token, same value: a no-op that answers the same.
    again = sm.create_secret(Name="rot", SecretString="v1", ClientRequestToken=t1)
    assert again["ARN"] == created["ARN"] and again["VersionId"] == t1
    expect(sm.create_secret, "ResourceExistsException", "The operation failed because the secret rot already exists.",
           Name="rot", SecretString="v1")

    put = sm.put_secret_value(SecretId="rot", SecretString="v2", ClientRequestToken=t2)
    assert put["VersionId"] == t2 and put["VersionStages"] == ["AWSCURRENT"]
    assert sm.get_secret_value(SecretId="rot")["SecretString"] == "v2"
    prev = sm.get_secret_value(SecretId="rot", VersionStage="AWSPREVIOUS")
    assert prev["SecretString"] == "v1" and prev["VersionId"] == t1
    assert sm.get_secret_value(SecretId="rot", VersionId=t1)["SecretString"] == "v1"
    expect(sm.get_secret_value, "InvalidRequestException", SecretId="rot", VersionId=t1, VersionStage="AWSCURRENT")

    # Idempotent retry, then a conflicting reuse of the token.
    assert sm.put_secret_value(SecretId="rot", SecretString="v2", ClientRequestToken=t2)["VersionId"] == t2
    expect(sm.put_secret_value, "ResourceExistsException",
           "You can't modify an existing version, you can only create a new version.",
           SecretId="rot", SecretString="other", ClientRequestToken=t2)

    pending = sm.put_secret_value(SecretId="rot", SecretString="v3", ClientRequestToken=t3,
                                  VersionStages=["AWSPENDING"])
    assert pending["VersionStages"] == ["AWSPENDING"]
    assert sm.get_secret_value(SecretId="rot")["SecretString"] == "v2"
    assert sm.get_secret_value(SecretId="rot", VersionStage="AWSPENDING")["SecretString"] == "v3"
    # Promote it the way rotation does.
    sm.update_secret_version_stage(SecretId="rot", VersionStage="AWSCURRENT", MoveToVersionId=t3,
                                   RemoveFromVersionId=t2)
    stages = sm.describe_secret(SecretId="rot")["VersionIdsToStages"]
    assert stages == {t2: ["AWSPREVIOUS"], t3: ["AWSPENDING", "AWSCURRENT"]}
    assert sm.get_secret_value(SecretId="rot")["SecretString"] == "v3"
    sm.update_secret_version_stage(SecretId="rot", VersionStage="AWSPENDING", RemoveFromVersionId=t3)
    expect(sm.update_secret_version_stage, "InvalidParameterException", SecretId="rot",
           VersionStage="AWSCURRENT", MoveToVersionId=t1)

    # t1 lost every label: deprecated, listed only on request.
    listed = {v["VersionId"] for v in sm.list_secret_version_ids(SecretId="rot")["Versions"]}
    assert listed == {t2, t3}
    listed = {v["VersionId"] for v in sm.list_secret_version_ids(SecretId="rot", IncludeDeprecated=True)["Versions"]}
    assert listed == {t1, t2, t3}

    # UpdateSecret with a value makes a new AWSCURRENT version; without, only metadata.
    up = sm.update_secret(SecretId="rot", SecretString="v4", ClientRequestToken=t4, Description="rotated")
    assert up["VersionId"] == t4
    assert sm.get_secret_value(SecretId="rot")["SecretString"] == "v4"
    up = sm.update_secret(SecretId="rot", Description="only metadata")
    assert "VersionId" not in up
    assert sm.describe_secret(SecretId="rot")["Description"] == "only metadata"
    # A secret made without a value has no AWSCURRENT yet.
    sm.create_secret(Name="empty")
    expect(sm.get_secret_value, "ResourceNotFoundException",
           "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT", SecretId="empty")
    sm.put_secret_value(SecretId="empty", SecretString="now")
    assert sm.get_secret_value(SecretId="empty")["SecretString"] == "now"


# --- deletion -------------------------------------------------------------------------------


def test_delete_and_restore(berth):
    sm = berth.client("secretsmanager")
    arn = sm.create_secret(Name="gone", SecretString="v")["ARN"]
    out = sm.delete_secret(SecretId="gone", RecoveryWindowInDays=7)
    assert out["ARN"] == arn and out["Name"] == "gone"
    assert 6 <= (out["DeletionDate"].timestamp() - time.time()) / 86400 <= 7.01
    expect(sm.get_secret_value, "InvalidRequestException", MARKED, SecretId="gone")
    expect(sm.put_secret_value, "InvalidRequestException", MARKED, SecretId="gone", SecretString="x")
    expect(sm.update_secret, "InvalidRequestException", MARKED, SecretId="gone", Description="x")
    expect(sm.delete_secret, "InvalidRequestException", MARKED, SecretId="gone")
    expect(sm.create_secret, "InvalidRequestException",
           "You can't create this secret because a secret with this name is already scheduled for deletion.",
           Name="gone", SecretString="v")
    assert "DeletedDate" in sm.describe_secret(SecretId="gone")
    assert [s["Name"] for s in sm.list_secrets()["SecretList"]] == []
    assert [s["Name"] for s in sm.list_secrets(IncludePlannedDeletion=True)["SecretList"]] == ["gone"]

    assert sm.restore_secret(SecretId="gone")["ARN"] == arn
    assert sm.get_secret_value(SecretId="gone")["SecretString"] == "v"
    assert "DeletedDate" not in sm.describe_secret(SecretId="gone")

    # Default window: 30 days. Forced: immediately gone, the name free again.
    out = sm.delete_secret(SecretId="gone")
    assert 29 <= (out["DeletionDate"].timestamp() - time.time()) / 86400 <= 30.01
    sm.delete_secret(SecretId="gone", ForceDeleteWithoutRecovery=True)
    expect(sm.describe_secret, "ResourceNotFoundException", NOT_FOUND, SecretId="gone")
    new_arn = sm.create_secret(Name="gone", SecretString="again")["ARN"]
    assert new_arn != arn
    expect(sm.get_secret_value, "ResourceNotFoundException", NOT_FOUND, SecretId=arn)


# --- metadata, listing, policies, tags ------------------------------------------------------


def test_list_filters_pagination_and_tags(berth):
    sm = berth.client("secretsmanager")
    for i in range(5):
        sm.create_secret(Name=f"team-a/s{i}", SecretString="x", Description=f"Secret number {i}",
                         Tags=[{"Key": "team", "Value": "a"}])
    sm.create_secret(Name="team-b/s0", SecretString="x", Tags=[{"Key": "team", "Value": "b"}])
    names = lambda out: [s["Name"] for s in out["SecretList"]]  # noqa: E731
    assert len(names(sm.list_secrets())) == 6
    assert names(sm.list_secrets(Filters=[{"Key": "name", "Values": ["team-b"]}])) == ["team-b/s0"]
    assert len(names(sm.list_secrets(Filters=[{"Key": "tag-value", "Values": ["a"]}]))) == 5
    assert names(sm.list_secrets(Filters=[{"Key": "name", "Values": ["!team-a"]}])) == ["team-b/s0"]
    assert len(names(sm.list_secrets(Filters=[{"Key": "description", "Values": ["secret NUMBER"]}]))) == 5
    assert names(sm.list_secrets(SortBy="name", SortOrder="desc"))[0] == "team-b/s0"
    seen = []
    kwargs = {"MaxResults": 2}
    while True:
        page = sm.list_secrets(**kwargs)
        seen += names(page)
        assert len(page["SecretList"]) <= 2
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert sorted(seen) == sorted(names(sm.list_secrets()))
    expect(sm.list_secrets, "InvalidNextTokenException", NextToken="garbage")
    entry = sm.list_secrets(Filters=[{"Key": "name", "Values": ["team-b"]}])["SecretList"][0]
    assert entry["Tags"] == [{"Key": "team", "Value": "b"}] and "SecretVersionsToStages" in entry
    assert "SecretString" not in json.dumps(entry, default=str)

    sm.tag_resource(SecretId="team-b/s0", Tags=[{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "c"}])
    tags = {t["Key"]: t["Value"] for t in sm.describe_secret(SecretId="team-b/s0")["Tags"]}
    assert tags == {"team": "c", "env": "dev"}
    sm.untag_resource(SecretId="team-b/s0", TagKeys=["team"])
    assert sm.describe_secret(SecretId="team-b/s0")["Tags"] == [{"Key": "env", "Value": "dev"}]


def test_resource_policy_round_trip(berth):
    sm = berth.client("secretsmanager")
    arn = sm.create_secret(Name="shared", SecretString="x")["ARN"]
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId="shared")
    doc = json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
                       "Action": "secretsmanager:GetSecretValue", "Resource": "*"}],
    })
    assert sm.validate_resource_policy(ResourcePolicy=doc)["PolicyValidationPassed"] is True
    assert sm.validate_resource_policy(SecretId="shared", ResourcePolicy=doc)["PolicyValidationPassed"] is True
    out = sm.put_resource_policy(SecretId="shared", ResourcePolicy=doc)
    assert out["ARN"] == arn and out["Name"] == "shared"
    got = sm.get_resource_policy(SecretId=arn)
    assert got["ResourcePolicy"] == doc
    sm.delete_resource_policy(SecretId="shared")
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId="shared")


def test_batch_get_secret_value(berth):
    sm = berth.client("secretsmanager")
    sm.create_secret(Name="b1", SecretString="one")
    sm.create_secret(Name="b2", SecretString="two")
    out = sm.batch_get_secret_value(SecretIdList=["b1", "b2", "nope"])
    assert {v["Name"]: v["SecretString"] for v in out["SecretValues"]} == {"b1": "one", "b2": "two"}
    assert out["Errors"] == [{"SecretId": "nope", "ErrorCode": "ResourceNotFoundException", "Message": NOT_FOUND}]
    out = sm.batch_get_secret_value(Filters=[{"Key": "name", "Values": ["b2"]}])
    assert [v["SecretString"] for v in out["SecretValues"]] == ["two"]
    expect(sm.batch_get_secret_value, "InvalidParameterException", SecretIdList=["b1"],
           Filters=[{"Key": "name", "Values": ["b"]}])


# --- secrecy --------------------------------------------------------------------------------


def test_secret_value_is_nowhere_at_rest_or_in_logs(berth):
    sm = berth.client("secretsmanager")
    kms = berth.client("kms")
    marker = "berth-secrecy-canary-7f3a9c1e5b"
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    sm.create_secret(Name="canary", SecretString=json.dumps({"username": "u", "password": marker}))
    sm.create_secret(Name="canary-cmk", SecretString=marker + "-cmk", KmsKeyId=key)
    sm.create_secret(Name="canary-bin", SecretBinary=(marker + "-bin").encode())
    sm.put_secret_value(SecretId="canary", SecretString=marker + "-v2")
    sm.update_secret(SecretId="canary-cmk", SecretString=marker + "-v3")
    assert marker in sm.get_secret_value(SecretId="canary", VersionStage="AWSPREVIOUS")["SecretString"]
    assert sm.get_secret_value(SecretId="canary-bin")["SecretBinary"] == (marker + "-bin").encode()
    # A failed write (too big) must not leak it either.
    with pytest.raises(ClientError):
        sm.put_secret_value(SecretId="canary", SecretString=marker * 5000)
    needles = [marker.encode(), marker.encode("utf-16-le")]
    checked = 0
    for root, _dirs, files in os.walk(berth.data_dir):
        for f in files:
            data = open(os.path.join(root, f), "rb").read()
            checked += 1
            for n in needles:
                assert n not in data, f"secret value found in {f}"
    assert checked >= 2  # berth.db (+ WAL) at least, or the root key and the database's name
    # The store itself, wherever it is (SQLite's files, or the PostgreSQL database).
    stored = store_bytes(berth.data_dir)
    for n in needles:
        assert n not in stored, "secret value found in the store"
    assert marker not in berth.log()


# --- policy: identity, key and resource policies ------------------------------------------


def test_managed_key_needs_no_kms_permission(berth):
    sm = berth.client("secretsmanager")
    arn = sm.create_secret(Name="app/plain", SecretString="pw")["ARN"]
    reader = user_creds(berth, "reader", allow("secretsmanager:GetSecretValue", arn))
    rsm = berth.client("secretsmanager", creds=reader)
    assert rsm.get_secret_value(SecretId="app/plain")["SecretString"] == "pw"
    # The same user cannot use the managed key directly.
    expect(berth.client("kms", creds=reader).describe_key, "AccessDeniedException", KeyId="alias/aws/secretsmanager")
    # IAM's denial names the SecretId as the caller gave it.
    e = expect(rsm.describe_secret, "AccessDeniedException", SecretId="app/plain")
    assert error_message(e) == (
        f"User: arn:aws:iam::{ACCOUNT}:user/reader is not authorized to perform: secretsmanager:DescribeSecret "
        "on resource: app/plain because no identity-based policy allows the secretsmanager:DescribeSecret action"
    )
    # A caller who may not read a secret that does not exist is denied, not told it is missing.
    expect(rsm.get_secret_value, "AccessDeniedException", SecretId="app/none")


def test_seed_inline_policy_with_customer_managed_key(berth):
    kms = berth.client("kms")
    sm = berth.client("secretsmanager")
    key = kms.create_key()["KeyMetadata"]
    arn = sm.create_secret(Name="registry", SecretString='{"username":"u","password":"p"}',
                           KmsKeyId=key["KeyId"])["ARN"]
    # The seed document's inline policy, verbatim in shape.
    seed = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["kms:Decrypt", "secretsmanager:GetSecretValue"],
                       "Resource": [arn, key["Arn"]]}],
    }
    ok = user_creds(berth, "exec", seed)
    assert json.loads(berth.client("secretsmanager", creds=ok).get_secret_value(SecretId=arn)["SecretString"])["password"] == "p"
    # Without kms:Decrypt on the customer managed key, KMS refuses Secrets Manager's call.
    no_kms = user_creds(berth, "nokms", allow("secretsmanager:GetSecretValue", arn))
    expect(berth.client("secretsmanager", creds=no_kms).get_secret_value, "AccessDeniedException", KMS_DENIED,
           SecretId=arn)
    # kms:Decrypt limited to Secrets Manager through kms:ViaService works too.
    via = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": arn},
            {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key["Arn"],
             "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com",
                                            "kms:EncryptionContext:SecretARN": arn}}},
        ],
    }
    via_user = user_creds(berth, "via", via)
    assert berth.client("secretsmanager", creds=via_user).get_secret_value(SecretId=arn)["SecretString"]
    # ... and does not open the key to direct use.
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"direct")["CiphertextBlob"]
    expect(berth.client("kms", creds=via_user).decrypt, "AccessDeniedException", CiphertextBlob=blob)
    # Writing needs kms:GenerateDataKey.
    writer = user_creds(berth, "writer", allow("secretsmanager:PutSecretValue", arn))
    expect(berth.client("secretsmanager", creds=writer).put_secret_value, "AccessDeniedException", KMS_DENIED,
           SecretId=arn, SecretString="new")


def test_explicit_deny_in_resource_policy(berth):
    sm = berth.client("secretsmanager")
    arn = sm.create_secret(Name="locked", SecretString="x")["ARN"]
    reader = user_creds(berth, "reader2", allow("secretsmanager:GetSecretValue"))
    deny = json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/reader2"},
                       "Action": "secretsmanager:GetSecretValue", "Resource": "*"}],
    })
    assert berth.client("secretsmanager", creds=reader).get_secret_value(SecretId=arn)["SecretString"] == "x"
    sm.put_resource_policy(SecretId="locked", ResourcePolicy=deny)
    e = expect(berth.client("secretsmanager", creds=reader).get_secret_value, "AccessDeniedException", SecretId=arn)
    assert "explicit deny in a resource-based policy" in error_message(e)


def test_cross_account_needs_resource_policy_key_policy_and_identity_policy(berth):
    other = other_account(berth, OTHER)
    osm = berth.client("secretsmanager", creds=other)
    okms = berth.client("kms", creds=other)
    consumer_root = f"arn:aws:iam::{ACCOUNT}:root"
    key_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "owner", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "consumer", "Effect": "Allow", "Principal": {"AWS": consumer_root},
             "Action": "kms:Decrypt", "Resource": "*",
             "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}}},
        ],
    }
    key = okms.create_key(Policy=json.dumps(key_policy))["KeyMetadata"]
    arn = osm.create_secret(Name="shared/creds", SecretString='{"username":"x","password":"y"}',
                            KmsKeyId=key["Arn"])["ARN"]
    managed_arn = osm.create_secret(Name="shared/managed", SecretString="m")["ARN"]
    identity = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": [arn, managed_arn]},
            {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key["Arn"]},
        ],
    }
    consumer = user_creds(berth, "consumer", identity)
    csm = berth.client("secretsmanager", creds=consumer)
    # No resource policy yet: denied.
    expect(csm.get_secret_value, "AccessDeniedException", SecretId=arn)
    resource_policy = json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": consumer_root},
                       "Action": "secretsmanager:GetSecretValue", "Resource": "*"}],
    })
    osm.put_resource_policy(SecretId=arn, ResourcePolicy=resource_policy)
    osm.put_resource_policy(SecretId=managed_arn, ResourcePolicy=resource_policy)
    assert json.loads(csm.get_secret_value(SecretId=arn)["SecretString"])["password"] == "y"
    # Only by full ARN.
    partial = f"arn:aws:secretsmanager:{REGION}:{OTHER}:secret:shared/creds"
    with pytest.raises(ClientError) as e:
        csm.get_secret_value(SecretId=partial)
    # Across accounts only the full ARN finds the secret, so no resource policy can allow the
    # call: AccessDeniedException (AWS answers ResourceNotFoundException only to a caller the
    # request is allowed to, which across accounts needs the secret's resource policy).
    assert error_code(e.value) == "AccessDeniedException"
    assert f"is not authorized to perform: secretsmanager:GetSecretValue on resource: {partial}" in error_message(e.value)
    # The same for a caller whose own policy allows every secret.
    anywhere = user_creds(berth, "anywhere", allow(["secretsmanager:GetSecretValue", "kms:Decrypt"]))
    with pytest.raises(ClientError) as e:
        berth.client("secretsmanager", creds=anywhere).get_secret_value(SecretId=partial)
    assert error_code(e.value) == "AccessDeniedException"
    expect(csm.get_secret_value, "AccessDeniedException", SecretId="shared/creds")
    # The AWS managed key never works across accounts: Secrets Manager says so before KMS does.
    expect(csm.get_secret_value, "InvalidRequestException",
           "You can't access a secret from a different AWS account if you encrypt the secret with "
           "the default KMS service key.", SecretId=managed_arn)
    # Without A's identity policy: denied.
    bare = user_creds(berth, "bare", allow("secretsmanager:GetSecretValue", arn))
    expect(berth.client("secretsmanager", creds=bare).get_secret_value, "AccessDeniedException", KMS_DENIED,
           SecretId=arn)
    nothing = user_creds(berth, "nothing")
    expect(berth.client("secretsmanager", creds=nothing).get_secret_value, "AccessDeniedException", SecretId=arn)
    # Without B's key policy statement: denied.
    key_policy["Statement"] = key_policy["Statement"][:1]
    okms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=json.dumps(key_policy))
    expect(csm.get_secret_value, "AccessDeniedException", KMS_DENIED, SecretId=arn)


def test_resource_tag_conditions(berth):
    sm = berth.client("secretsmanager")
    sm.create_secret(Name="tagged-a", SecretString="a", Tags=[{"Key": "team", "Value": "a"}])
    sm.create_secret(Name="tagged-b", SecretString="b", Tags=[{"Key": "team", "Value": "b"}])
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*",
                       "Condition": {"StringEquals": {"secretsmanager:ResourceTag/team": "a"}}}],
    }
    user = user_creds(berth, "team-a", policy)
    usm = berth.client("secretsmanager", creds=user)
    assert usm.get_secret_value(SecretId="tagged-a")["SecretString"] == "a"
    expect(usm.get_secret_value, "AccessDeniedException", SecretId="tagged-b")
    # Creating with tags needs TagResource too.
    creator = user_creds(berth, "creator", {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "secretsmanager:CreateSecret", "Resource": "*"}],
    })
    csm = berth.client("secretsmanager", creds=creator)
    csm.create_secret(Name="untagged-by-creator")
    e = expect(csm.create_secret, "AccessDeniedException", Name="tagged-by-creator",
               Tags=[{"Key": "k", "Value": "v"}])
    assert "secretsmanager:TagResource" in error_message(e)


def test_wire_shape_of_errors(berth):
    """Secrets Manager's error body carries `Message`; KMS's carries `message`."""
    from conftest import json_body

    body = json.dumps({"SecretId": "missing"}).encode()
    status, headers, raw = berth.raw(
        body, headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "secretsmanager.GetSecretValue"},
        sign=("secretsmanager", REGION))
    assert status == 400
    assert json_body(raw) == {"__type": "ResourceNotFoundException", "Message": NOT_FOUND}
    assert {k.lower(): v for k, v in headers.items()}.get("x-amzn-requestid")
    body = json.dumps({"KeyId": "alias/none"}).encode()
    status, _, raw = berth.raw(
        body, headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.DescribeKey"},
        sign=("kms", REGION))
    assert status == 400
    assert json_body(raw) == {
        "__type": "NotFoundException",
        "message": f"Alias arn:aws:kms:{REGION}:{ACCOUNT}:alias/none is not found.",
    }


def test_cli_secret_lifecycle(berth, tmp_path):
    value = tmp_path / "v.json"
    value.write_text(json.dumps({"username": "cli", "password": "pa ss"}))
    rc, out, err = berth.aws("secretsmanager", "create-secret", "--name", "cli/creds",
                             "--secret-string", f"file://{value}")
    assert rc == 0, err
    arn = json.loads(out)["ARN"]
    rc, out, err = berth.aws("secretsmanager", "put-secret-value", "--secret-id", arn,
                             "--secret-string", "rotated")
    assert rc == 0, err
    rc, out, err = berth.aws("secretsmanager", "describe-secret", "--secret-id", "cli/creds")
    assert rc == 0, err
    assert sorted(sum(json.loads(out)["VersionIdsToStages"].values(), [])) == ["AWSCURRENT", "AWSPREVIOUS"]
    rc, out, err = berth.aws("secretsmanager", "get-secret-value", "--secret-id", "cli/missing")
    assert rc == 255
    assert ("An error occurred (ResourceNotFoundException) when calling the GetSecretValue operation: "
            "Secrets Manager can't find the specified secret.") in err
    rc, out, err = berth.aws("secretsmanager", "delete-secret", "--secret-id", "cli/creds",
                             "--recovery-window-in-days", "3")
    assert rc == 255 and "InvalidParameterException" in err


def test_secrets_and_keys_survive_a_restart(berth_factory):
    first = berth_factory(name="persist")
    kms = first.client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"durable")["CiphertextBlob"]
    first.client("secretsmanager").create_secret(Name="durable", SecretString="still here", KmsKeyId=key)
    first.client("secretsmanager").create_secret(Name="durable-default", SecretString="me too")
    first.stop()
    again = berth_factory(name="persist")
    assert again.client("kms").decrypt(CiphertextBlob=blob)["Plaintext"] == b"durable"
    sm = again.client("secretsmanager")
    assert sm.get_secret_value(SecretId="durable")["SecretString"] == "still here"
    assert sm.get_secret_value(SecretId="durable-default")["SecretString"] == "me too"


def test_assumed_role_session_reads_with_seed_policy(berth):
    kms = berth.client("kms")
    sm = berth.client("secretsmanager")
    iam = berth.client("iam")
    key = kms.create_key()["KeyMetadata"]
    arn = sm.create_secret(Name="exec/registry", SecretString='{"username":"r","password":"q"}',
                           KmsKeyId=key["Arn"])["ARN"]
    plain_arn = sm.create_secret(Name="exec/plain", SecretString="p")["ARN"]
    caller = user_creds(berth, "deployer", allow("sts:AssumeRole"))
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/deployer"}, "Action": "sts:AssumeRole"}]}
    for role, actions, resources in [
        ("full", ["kms:Decrypt", "secretsmanager:GetSecretValue"], [arn, key["Arn"]]),
        ("nokms", ["secretsmanager:GetSecretValue"], [arn, plain_arn]),
    ]:
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))
        iam.put_role_policy(RoleName=role, PolicyName="inline", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resources}]}))

    def session(role):
        c = berth.client("sts", creds=caller).assume_role(
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{role}", RoleSessionName="task")["Credentials"]
        return berth.client("secretsmanager", creds=Creds(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]))

    full = session("full")
    assert json.loads(full.get_secret_value(SecretId=arn)["SecretString"])["username"] == "r"
    nokms = session("nokms")
    expect(nokms.get_secret_value, "AccessDeniedException", KMS_DENIED, SecretId=arn)
    # The AWS managed key needs no kms permission of the role's own.
    assert nokms.get_secret_value(SecretId=plain_arn)["SecretString"] == "p"
    e = expect(full.get_secret_value, "AccessDeniedException", SecretId="exec/plain")
    assert error_message(e).startswith(f"User: arn:aws:sts::{ACCOUNT}:assumed-role/full/task is not authorized")
    assert "on resource: exec/plain because" in error_message(e)
