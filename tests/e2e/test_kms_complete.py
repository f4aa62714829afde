"""KMS beyond the basics, end to end: grants in authorisation, the rest of the symmetric API,
asymmetric and HMAC keys, and a walk over every operation of the model."""

import base64
import json
import os

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import REGION, error_code, error_message
from helpers import user_creds

ACCOUNT = "000000000000"


def expect(call, code, message=None, **kwargs):
    with pytest.raises(ClientError) as e:
        call(**kwargs)
    assert error_code(e.value) == code, e.value.response
    if message is not None:
        assert error_message(e.value) == message, e.value.response
    return e.value


def raw(berth):
    """A KMS client that sends what it is given: the server, not boto3, validates."""
    return boto3.client(
        "kms", endpoint_url=berth.endpoint, region_name=REGION,
        aws_access_key_id=berth.root.access_key_id, aws_secret_access_key=berth.root.secret_access_key,
        config=Config(retries={"max_attempts": 1}, parameter_validation=False),
    )


# --- grants ---------------------------------------------------------------------------------


def test_a_grant_allows_its_grantee_until_retired(berth):
    kms = berth.client("kms")
    key = kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"granted", EncryptionContext={"app": "a"})["CiphertextBlob"]
    bob = user_creds(berth, "bob")  # no policy at all
    bob_arn = f"arn:aws:iam::{ACCOUNT}:user/bob"
    bkms = berth.client("kms", creds=bob)
    expect(bkms.decrypt, "AccessDeniedException", CiphertextBlob=blob, EncryptionContext={"app": "a"})

    g = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=bob_arn, Operations=["Decrypt", "DescribeKey"],
                         RetiringPrincipal=f"arn:aws:iam::{ACCOUNT}:root")
    assert len(g["GrantId"]) == 64 and g["GrantToken"]
    out = bkms.decrypt(CiphertextBlob=blob, EncryptionContext={"app": "a"}, GrantTokens=[g["GrantToken"]])
    assert out["Plaintext"] == b"granted" and out["KeyId"] == key["Arn"]
    assert bkms.describe_key(KeyId=key["Arn"])["KeyMetadata"]["KeyId"] == key["KeyId"]
    # Only the operations granted.
    expect(bkms.encrypt, "AccessDeniedException", KeyId=key["Arn"], Plaintext=b"x")

    listed = kms.list_grants(KeyId=key["KeyId"])["Grants"]
    assert [x["GrantId"] for x in listed] == [g["GrantId"]]
    assert listed[0]["GranteePrincipal"] == bob_arn
    assert listed[0]["IssuingAccount"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert listed[0]["KeyId"] == key["Arn"]
    assert sorted(listed[0]["Operations"]) == ["Decrypt", "DescribeKey"]
    retirable = kms.list_retirable_grants(RetiringPrincipal=f"arn:aws:iam::{ACCOUNT}:root")["Grants"]
    assert [x["GrantId"] for x in retirable] == [g["GrantId"]]

    # The grantee may not retire it (no RetireGrant in the grant); the retiring principal may.
    expect(bkms.retire_grant, "AccessDeniedException", GrantToken=g["GrantToken"])
    kms.retire_grant(GrantToken=g["GrantToken"])
    assert kms.list_grants(KeyId=key["KeyId"])["Grants"] == []
    expect(bkms.decrypt, "AccessDeniedException", CiphertextBlob=blob, EncryptionContext={"app": "a"})
    expect(kms.retire_grant, "InvalidGrantTokenException", GrantToken="not a token")


def test_grant_constraints_name_idempotence_and_revoke(berth):
    kms = berth.client("kms")
    key = kms.create_key()["KeyMetadata"]
    bob = user_creds(berth, "bob")
    bob_arn = f"arn:aws:iam::{ACCOUNT}:user/bob"
    bkms = berth.client("kms", creds=bob)
    args = dict(KeyId=key["KeyId"], GranteePrincipal=bob_arn, Name="app-grant",
                Operations=["Encrypt", "Decrypt", "RetireGrant"],
                Constraints={"EncryptionContextSubset": {"tenant": "t1"}})
    g1 = kms.create_grant(**args)
    g2 = kms.create_grant(**args)
    assert g1["GrantId"] == g2["GrantId"] and g1["GrantToken"] != g2["GrantToken"]
    g3 = kms.create_grant(**{**args, "Operations": ["Encrypt"]})
    assert g3["GrantId"] != g1["GrantId"]
    assert len(kms.list_grants(KeyId=key["KeyId"])["Grants"]) == 2
    assert kms.list_grants(KeyId=key["KeyId"], GrantId=g1["GrantId"])["Grants"][0]["Constraints"] == {
        "EncryptionContextSubset": {"tenant": "t1"}}

    blob = bkms.encrypt(KeyId=key["Arn"], Plaintext=b"c", EncryptionContext={"tenant": "t1", "x": "y"})["CiphertextBlob"]
    assert bkms.decrypt(CiphertextBlob=blob, EncryptionContext={"tenant": "t1", "x": "y"})["Plaintext"] == b"c"
    # A context the constraint does not admit is refused.
    expect(bkms.encrypt, "AccessDeniedException", KeyId=key["Arn"], Plaintext=b"c", EncryptionContext={"tenant": "t2"})
    expect(bkms.encrypt, "AccessDeniedException", KeyId=key["Arn"], Plaintext=b"c")

    eq = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=bob_arn, Operations=["GenerateDataKey"],
                          Constraints={"EncryptionContextEquals": {"a": "1"}})
    assert bkms.generate_data_key(KeyId=key["Arn"], KeySpec="AES_256", EncryptionContext={"a": "1"})["KeyId"] == key["Arn"]
    expect(bkms.generate_data_key, "AccessDeniedException", KeyId=key["Arn"], KeySpec="AES_256",
           EncryptionContext={"a": "1", "b": "2"})

    # The grantee retires a grant that allows RetireGrant, by key and grant id.
    bkms.retire_grant(KeyId=key["Arn"], GrantId=g1["GrantId"])
    expect(bkms.decrypt, "AccessDeniedException", CiphertextBlob=blob, EncryptionContext={"tenant": "t1", "x": "y"})
    # The key's administrators revoke.
    kms.revoke_grant(KeyId=key["KeyId"], GrantId=eq["GrantId"])
    expect(bkms.generate_data_key, "AccessDeniedException", KeyId=key["Arn"], KeySpec="AES_256",
           EncryptionContext={"a": "1"})
    expect(bkms.revoke_grant, "AccessDeniedException", KeyId=key["Arn"], GrantId=g3["GrantId"])
    expect(kms.revoke_grant, "NotFoundException", KeyId=key["KeyId"], GrantId=eq["GrantId"])
    expect(kms.create_grant, "ValidationException", KeyId=key["KeyId"], GranteePrincipal=bob_arn,
           Operations=["Fly"])
    expect(kms.decrypt, "ValidationException", CiphertextBlob=blob, GrantTokens=["t"] * 11)


def test_an_explicit_deny_beats_a_grant(berth):
    kms = berth.client("kms")
    key = kms.create_key()["KeyMetadata"]
    carol = user_creds(berth, "carol", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "kms:Encrypt", "Resource": "*"}]})
    kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=f"arn:aws:iam::{ACCOUNT}:user/carol",
                     Operations=["Encrypt"])
    e = expect(berth.client("kms", creds=carol).encrypt, "AccessDeniedException", KeyId=key["Arn"], Plaintext=b"x")
    assert "explicit deny" in error_message(e)


# --- the rest of the symmetric API ----------------------------------------------------------


def test_alias_description_policies_and_tags(berth):
    kms = berth.client("kms")
    k1 = kms.create_key(Tags=[{"TagKey": "b", "TagValue": "2"}, {"TagKey": "a", "TagValue": "1"}])["KeyMetadata"]
    k2 = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/app", TargetKeyId=k1["KeyId"])
    kms.update_alias(AliasName="alias/app", TargetKeyId=k2["Arn"])
    assert kms.describe_key(KeyId="alias/app")["KeyMetadata"]["KeyId"] == k2["KeyId"]
    expect(kms.update_alias, "NotFoundException",
           f"Alias arn:aws:kms:{REGION}:{ACCOUNT}:alias/none is not found.",
           AliasName="alias/none", TargetKeyId=k2["KeyId"])

    kms.update_key_description(KeyId=k1["KeyId"], Description="new words")
    assert kms.describe_key(KeyId=k1["KeyId"])["KeyMetadata"]["Description"] == "new words"
    assert kms.list_key_policies(KeyId=k1["KeyId"])["PolicyNames"] == ["default"]

    tags = kms.list_resource_tags(KeyId=k1["KeyId"])
    assert tags["Tags"] == [{"TagKey": "a", "TagValue": "1"}, {"TagKey": "b", "TagValue": "2"}]
    assert tags["Truncated"] is False
    page = kms.list_resource_tags(KeyId=k1["KeyId"], Limit=1)
    assert page["Truncated"] is True and len(page["Tags"]) == 1
    assert kms.list_resource_tags(KeyId=k1["KeyId"], Marker=page["NextMarker"])["Tags"] == [
        {"TagKey": "b", "TagValue": "2"}]
    kms.untag_resource(KeyId=k1["KeyId"], TagKeys=["a", "absent"])
    assert kms.list_resource_tags(KeyId=k1["KeyId"])["Tags"] == [{"TagKey": "b", "TagValue": "2"}]

    # Tag rules, in AWS's words.
    expect(kms.tag_resource, "TagException", "Tags beginning with aws: are reserved",
           KeyId=k1["KeyId"], Tags=[{"TagKey": "aws:x", "TagValue": "v"}])
    expect(kms.tag_resource, "TagException", "Duplicate tag keys", KeyId=k1["KeyId"],
           Tags=[{"TagKey": "d", "TagValue": "1"}, {"TagKey": "d", "TagValue": "2"}])
    expect(kms.tag_resource, "ValidationException",
           "1 validation error detected: Value '" + "k" * 129 + "' at 'tags.1.member.tagKey' failed to satisfy "
           "constraint: Member must have length less than or equal to 128",
           KeyId=k1["KeyId"], Tags=[{"TagKey": "k" * 129, "TagValue": "v"}])
    expect(kms.tag_resource, "ValidationException", KeyId=k1["KeyId"],
           Tags=[{"TagKey": "k", "TagValue": "v" * 257}])
    expect(kms.create_key, "TagException", "Too many tags",
           Tags=[{"TagKey": f"t{i}", "TagValue": "v"} for i in range(51)])
    expect(kms.describe_key, "NotFoundException", "Invalid keyId 'x'", KeyId="x")
    expect(kms.describe_key, "NotFoundException", "Invalid arn eu-west-1",
           KeyId=k1["Arn"].replace(REGION, "eu-west-1"))


def test_generate_random(berth):
    kms = berth.client("kms")
    a = kms.generate_random(NumberOfBytes=32)["Plaintext"]
    b = kms.generate_random(NumberOfBytes=32)["Plaintext"]
    assert len(a) == 32 and a != b
    assert len(kms.generate_random(NumberOfBytes=1024)["Plaintext"]) == 1024
    expect(raw(berth).generate_random, "ValidationException",
           "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: "
           "Member must have value less than or equal to 1024", NumberOfBytes=1025)
    expect(raw(berth).generate_random, "ValidationException", NumberOfBytes=0)
    expect(kms.generate_random, "CustomKeyStoreNotFoundException", NumberOfBytes=8, CustomKeyStoreId="cks-1234567890abcdef0")


def test_rotation_keeps_old_ciphertexts(berth):
    kms = berth.client("kms")
    key = kms.create_key()["KeyMetadata"]
    first_material = key["CurrentKeyMaterialId"]
    assert len(first_material) == 64
    status = kms.get_key_rotation_status(KeyId=key["KeyId"])
    assert status["KeyRotationEnabled"] is False and status["KeyId"] == key["Arn"]
    expect(raw(berth).enable_key_rotation, "ValidationException",
           "1 validation error detected: Value '89' at 'rotationPeriodInDays' failed to satisfy constraint: "
           "Member must have value greater than or equal to 90", KeyId=key["KeyId"], RotationPeriodInDays=89)
    expect(raw(berth).enable_key_rotation, "ValidationException", KeyId=key["KeyId"], RotationPeriodInDays=2561)
    kms.enable_key_rotation(KeyId=key["KeyId"], RotationPeriodInDays=90)
    status = kms.get_key_rotation_status(KeyId=key["KeyId"])
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 90
    assert "NextRotationDate" in status

    old = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"before")["CiphertextBlob"]
    assert kms.rotate_key_on_demand(KeyId=key["KeyId"])["KeyId"] == key["Arn"]
    now_material = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["CurrentKeyMaterialId"]
    assert now_material != first_material
    new = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"after")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=old)["Plaintext"] == b"before"
    assert kms.decrypt(CiphertextBlob=new)["Plaintext"] == b"after"
    rotations = kms.list_key_rotations(KeyId=key["KeyId"])["Rotations"]
    assert [(r["KeyMaterialId"], r["RotationType"]) for r in rotations] == [(now_material, "ON_DEMAND")]
    kms.disable_key_rotation(KeyId=key["KeyId"])
    assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is False

    kms.disable_key(KeyId=key["KeyId"])
    expect(kms.enable_key_rotation, "DisabledException", KeyId=key["KeyId"])


def test_no_custom_key_stores(berth):
    kms = berth.client("kms")
    out = kms.describe_custom_key_stores()
    assert out["CustomKeyStores"] == [] and out["Truncated"] is False
    for call in (kms.connect_custom_key_store, kms.disconnect_custom_key_store, kms.delete_custom_key_store):
        expect(call, "CustomKeyStoreNotFoundException", CustomKeyStoreId="cks-1234567890abcdef0")
    expect(kms.update_custom_key_store, "CustomKeyStoreNotFoundException", CustomKeyStoreId="cks-1234567890abcdef0",
           NewCustomKeyStoreName="n")
    expect(kms.create_custom_key_store, "CloudHsmClusterNotFoundException", CustomKeyStoreName="s",
           CloudHsmClusterId="cluster-1234567abcd", TrustAnchorCertificate="x", KeyStorePassword="password")
    expect(kms.create_key, "CustomKeyStoreNotFoundException", CustomKeyStoreId="cks-1234567890abcdef0")
