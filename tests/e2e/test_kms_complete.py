"""KMS beyond the basics, end to end: grants in authorisation, the rest of the symmetric API,
asymmetric and HMAC keys, and a walk over every operation of the model."""

import base64
import json
import os

import pytest
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
