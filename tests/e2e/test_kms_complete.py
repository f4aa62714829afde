"""KMS beyond the basics, end to end: grants in authorisation, the rest of the symmetric API,
asymmetric and HMAC keys, and a walk over every operation of the model."""

import base64
import json
from pathlib import Path

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


def test_create_grant_condition_keys(berth):
    kms = berth.client("kms")
    key = kms.create_key()["KeyMetadata"]
    dave = user_creds(berth, "dave", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:CreateGrant", "Resource": key["Arn"],
         "Condition": {"ForAllValues:StringEquals": {"kms:GrantOperations": ["Decrypt", "DescribeKey"]}}}]})
    dkms = berth.client("kms", creds=dave)
    grantee = f"arn:aws:iam::{ACCOUNT}:user/dave"
    assert dkms.create_grant(KeyId=key["Arn"], GranteePrincipal=grantee,
                             Operations=["Decrypt", "DescribeKey"])["GrantId"]
    expect(dkms.create_grant, "AccessDeniedException", KeyId=key["Arn"], GranteePrincipal=grantee,
           Operations=["Decrypt", "Encrypt"])


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


# --- asymmetric and HMAC keys ---------------------------------------------------------------

from cryptography.exceptions import InvalidSignature  # noqa: E402
from cryptography.hazmat.primitives import hashes, hmac, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils  # noqa: E402

HASHES = {"SHA_256": hashes.SHA256, "SHA_384": hashes.SHA384, "SHA_512": hashes.SHA512}


def hash_of(algorithm):
    return HASHES["_".join(algorithm.split("_")[-2:])]()


def digest(algorithm, message):
    h = hashes.Hash(hash_of(algorithm))
    h.update(message)
    return h.finalize()


def verify_locally(public_der, algorithm, message, signature):
    """Verifies a berth signature with Python's `cryptography`."""
    pub = serialization.load_der_public_key(public_der)
    h = hash_of(algorithm)
    if algorithm.startswith("ECDSA"):
        pub.verify(signature, message, ec.ECDSA(h))
    elif algorithm.startswith("RSASSA_PSS"):
        pub.verify(signature, message, padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size), h)
    else:
        pub.verify(signature, message, padding.PKCS1v15(), h)


@pytest.mark.parametrize("spec,algorithm,curve", [
    ("ECC_NIST_P256", "ECDSA_SHA_256", ec.SECP256R1),
    ("ECC_NIST_P384", "ECDSA_SHA_384", ec.SECP384R1),
    ("ECC_NIST_P521", "ECDSA_SHA_512", ec.SECP521R1),
    ("ECC_SECG_P256K1", "ECDSA_SHA_256", ec.SECP256K1),
])
def test_ecc_signatures_verify_both_ways(berth, spec, algorithm, curve):
    kms = berth.client("kms")
    meta = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    assert meta["KeySpec"] == spec and meta["KeyUsage"] == "SIGN_VERIFY"
    assert meta["SigningAlgorithms"] == [algorithm] and "EncryptionAlgorithms" not in meta
    pub = kms.get_public_key(KeyId=meta["KeyId"])
    assert pub["KeySpec"] == spec and pub["SigningAlgorithms"] == [algorithm]
    loaded = serialization.load_der_public_key(pub["PublicKey"])
    assert isinstance(loaded.curve, curve)

    message = b"the message" * 10
    sig = kms.sign(KeyId=meta["KeyId"], Message=message, MessageType="RAW", SigningAlgorithm=algorithm)
    assert sig["SigningAlgorithm"] == algorithm and sig["KeyId"] == meta["Arn"]
    verify_locally(pub["PublicKey"], algorithm, message, sig["Signature"])
    with pytest.raises(InvalidSignature):
        verify_locally(pub["PublicKey"], algorithm, b"another", sig["Signature"])
    # A digest signed is the message's signature.
    dsig = kms.sign(KeyId=meta["KeyId"], Message=digest(algorithm, message), MessageType="DIGEST",
                    SigningAlgorithm=algorithm)["Signature"]
    verify_locally(pub["PublicKey"], algorithm, message, dsig)
    assert kms.verify(KeyId=meta["KeyId"], Message=message, Signature=sig["Signature"],
                      SigningAlgorithm=algorithm)["SignatureValid"] is True
    expect(kms.verify, "KMSInvalidSignatureException", KeyId=meta["KeyId"], Message=b"tampered",
           Signature=sig["Signature"], SigningAlgorithm=algorithm)


def test_rsa_sign_verify_and_encrypt(berth):
    kms = berth.client("kms")
    signer = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    assert "RSASSA_PSS_SHA_256" in signer["SigningAlgorithms"]
    pub = kms.get_public_key(KeyId=signer["KeyId"])["PublicKey"]
    for algorithm in ["RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_512", "RSASSA_PKCS1_V1_5_SHA_256",
                      "RSASSA_PKCS1_V1_5_SHA_384"]:
        sig = kms.sign(KeyId=signer["KeyId"], Message=b"doc", SigningAlgorithm=algorithm)["Signature"]
        verify_locally(pub, algorithm, b"doc", sig)
        assert kms.verify(KeyId=signer["KeyId"], Message=b"doc", Signature=sig,
                          SigningAlgorithm=algorithm)["SignatureValid"] is True

    # A data key pair: its private half (plaintext and encrypted under a symmetric key) matches
    # its public half.
    sym = kms.create_key()["KeyMetadata"]
    pair = kms.generate_data_key_pair(KeyId=sym["KeyId"], KeyPairSpec="ECC_NIST_P256")
    private = serialization.load_der_private_key(pair["PrivateKeyPlaintext"], password=None)
    assert private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) == pair["PublicKey"]
    assert kms.decrypt(CiphertextBlob=pair["PrivateKeyCiphertextBlob"])["Plaintext"] == pair["PrivateKeyPlaintext"]
    without = kms.generate_data_key_pair_without_plaintext(KeyId=sym["KeyId"], KeyPairSpec="RSA_2048")
    assert "PrivateKeyPlaintext" not in without and without["KeyPairSpec"] == "RSA_2048"

    enc = kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
    assert enc["EncryptionAlgorithms"] == ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
    epub = serialization.load_der_public_key(kms.get_public_key(KeyId=enc["KeyId"])["PublicKey"])
    # Python encrypts to the public key; berth decrypts.
    ct = epub.encrypt(b"to berth", padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
    out = kms.decrypt(KeyId=enc["KeyId"], CiphertextBlob=ct, EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    assert out["Plaintext"] == b"to berth" and out["EncryptionAlgorithm"] == "RSAES_OAEP_SHA_256"
    ct1 = kms.encrypt(KeyId=enc["KeyId"], Plaintext=b"sha1", EncryptionAlgorithm="RSAES_OAEP_SHA_1")
    assert ct1["EncryptionAlgorithm"] == "RSAES_OAEP_SHA_1"
    assert kms.decrypt(KeyId=enc["KeyId"], CiphertextBlob=ct1["CiphertextBlob"],
                       EncryptionAlgorithm="RSAES_OAEP_SHA_1")["Plaintext"] == b"sha1"
    expect(kms.encrypt, "ValidationException",
           "Algorithm RSAES_OAEP_SHA_256 and key spec RSA_2048 cannot encrypt data larger than 190 bytes.",
           KeyId=enc["KeyId"], Plaintext=b"x" * 191, EncryptionAlgorithm="RSAES_OAEP_SHA_256")


def test_key_usage_mismatches_in_aws_words(berth):
    kms = berth.client("kms")
    signer = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    sym = kms.create_key()["KeyMetadata"]
    mac_key = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    expect(kms.encrypt, "InvalidKeyUsageException",
           f"{signer['Arn']} key usage is SIGN_VERIFY which is not valid for Encrypt.",
           KeyId=signer["KeyId"], Plaintext=b"x")
    expect(kms.sign, "InvalidKeyUsageException",
           f"{sym['Arn']} key usage is ENCRYPT_DECRYPT which is not valid for Sign.",
           KeyId=sym["KeyId"], Message=b"x", SigningAlgorithm="ECDSA_SHA_256")
    expect(kms.generate_mac, "InvalidKeyUsageException",
           f"{signer['Arn']} key usage is SIGN_VERIFY which is not valid for GenerateMac.",
           KeyId=signer["KeyId"], Message=b"x", MacAlgorithm="HMAC_SHA_256")
    expect(kms.generate_mac, "InvalidKeyUsageException",
           "Algorithm HMAC_SHA_384 is incompatible with key spec HMAC_256.",
           KeyId=mac_key["KeyId"], Message=b"x", MacAlgorithm="HMAC_SHA_384")
    expect(kms.sign, "InvalidKeyUsageException", KeyId=signer["KeyId"], Message=b"x",
           SigningAlgorithm="ECDSA_SHA_384")
    expect(kms.get_public_key, "InvalidKeyUsageException", KeyId=sym["KeyId"])
    expect(kms.generate_data_key, "InvalidKeyUsageException", KeyId=signer["KeyId"], KeySpec="AES_256")
    # Digest and message bounds.
    expect(kms.sign, "ValidationException", "Digest is invalid length for algorithm ECDSA_SHA_256.",
           KeyId=signer["KeyId"], Message=b"short", MessageType="DIGEST", SigningAlgorithm="ECDSA_SHA_256")
    expect(kms.sign, "ValidationException",
           "1 validation error detected: Value at 'message' failed to satisfy constraint: "
           "Member must have length less than or equal to 4096",
           KeyId=signer["KeyId"], Message=b"x" * 4097, SigningAlgorithm="ECDSA_SHA_256")
    assert kms.sign(KeyId=signer["KeyId"], Message=b"x" * 4096, SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    expect(kms.create_key, "ValidationException", KeySpec="ECC_NIST_P256", KeyUsage="ENCRYPT_DECRYPT")


def test_cli_sign_and_verify(berth, tmp_path):
    rc, out, err = berth.aws("kms", "create-key", "--key-spec", "ECC_NIST_P256", "--key-usage", "SIGN_VERIFY")
    assert rc == 0, err
    key_id = json.loads(out)["KeyMetadata"]["KeyId"]
    (tmp_path / "msg").write_bytes(b"signed at the command line")
    rc, out, err = berth.aws("kms", "sign", "--key-id", key_id, "--message", f"fileb://{tmp_path / 'msg'}",
                             "--signing-algorithm", "ECDSA_SHA_256", "--output", "json")
    assert rc == 0, err
    (tmp_path / "sig").write_bytes(base64.b64decode(json.loads(out)["Signature"]))
    rc, out, err = berth.aws("kms", "verify", "--key-id", key_id, "--message", f"fileb://{tmp_path / 'msg'}",
                             "--signature", f"fileb://{tmp_path / 'sig'}", "--signing-algorithm", "ECDSA_SHA_256",
                             "--output", "json")
    assert rc == 0, err
    assert json.loads(out)["SignatureValid"] is True
    (tmp_path / "msg").write_bytes(b"tampered")
    rc, out, err = berth.aws("kms", "verify", "--key-id", key_id, "--message", f"fileb://{tmp_path / 'msg'}",
                             "--signature", f"fileb://{tmp_path / 'sig'}", "--signing-algorithm", "ECDSA_SHA_256")
    assert rc == 255 and "KMSInvalidSignatureException" in err


def test_hmac_keys(berth):
    kms = berth.client("kms")
    for spec, algorithm, size in [("HMAC_224", "HMAC_SHA_224", 28), ("HMAC_256", "HMAC_SHA_256", 32),
                                  ("HMAC_384", "HMAC_SHA_384", 48), ("HMAC_512", "HMAC_SHA_512", 64)]:
        meta = kms.create_key(KeySpec=spec, KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
        assert meta["MacAlgorithms"] == [algorithm] and meta["KeyUsage"] == "GENERATE_VERIFY_MAC"
        mac = kms.generate_mac(KeyId=meta["KeyId"], Message=b"data", MacAlgorithm=algorithm)
        assert len(mac["Mac"]) == size and mac["MacAlgorithm"] == algorithm
        again = kms.generate_mac(KeyId=meta["KeyId"], Message=b"data", MacAlgorithm=algorithm)["Mac"]
        assert again == mac["Mac"]
        assert kms.verify_mac(KeyId=meta["KeyId"], Message=b"data", Mac=mac["Mac"],
                              MacAlgorithm=algorithm)["MacValid"] is True
        expect(kms.verify_mac, "KMSInvalidMacException", KeyId=meta["KeyId"], Message=b"datb",
               Mac=mac["Mac"], MacAlgorithm=algorithm)


# --- every operation of the model -----------------------------------------------------------

# Operations berth does not answer yet, each answered UnknownOperationException. This list may
# only shrink: the test fails for an unanswered operation not on it, and for one on it that is
# now answered.
NOT_YET: set[str] = set()


def test_every_operation_of_the_model_is_answered(berth):
    model = json.loads((Path(__file__).resolve().parents[2] / "models" / "kms.json").read_text())
    unknown = set()
    for op in sorted(model["operations"]):
        status, _, body = berth.raw(
            b"{}", headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"TrentService.{op}"},
            sign=("kms", REGION))
        if b"UnknownOperationException" in body:
            unknown.add(op)
        # An empty request is the caller's mistake, never a server failure.
        assert status < 500, (op, status, body)
    assert unknown == NOT_YET, (sorted(unknown - NOT_YET), sorted(NOT_YET - unknown))
