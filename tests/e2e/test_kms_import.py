"""KMS, the rest of the API, end to end: imported key material (wrapped exactly as the AWS
docs' openssl recipe wraps it), multi-Region keys across two berth regions, ECDH key
agreement checked against Python's own ECDH, and the ML-KEM and key-usage operations."""

import base64
import json
import os
import time

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

from conftest import REGION, error_code, error_message

OTHER = "us-west-2"


def expect(call, code, **kwargs):
    with pytest.raises(ClientError) as e:
        call(**kwargs)
    assert error_code(e.value) == code, e.value.response
    return e.value


def oaep(sha):
    h = hashes.SHA256() if sha == 256 else hashes.SHA1()
    return padding.OAEP(mgf=padding.MGF1(algorithm=h), algorithm=h, label=None)


def wrap(public_der, algorithm, material):
    """The material wrapped under the wrapping key as the AWS docs' openssl recipe does."""
    public = serialization.load_der_public_key(public_der)
    if algorithm.startswith("RSA_AES_KEY_WRAP"):
        sha = 256 if algorithm.endswith("256") else 1
        aes_key = os.urandom(32)  # openssl rand -out aes-key.bin 32
        wrapped_material = aes_key_wrap_with_padding(aes_key, material)  # -id-aes256-wrap-pad
        return public.encrypt(aes_key, oaep(sha)) + wrapped_material  # cat wrapped key, material
    return public.encrypt(material, oaep(256 if algorithm.endswith("256") else 1))


def external_key(kms):
    meta = kms.create_key(Origin="EXTERNAL", Description="imported")["KeyMetadata"]
    assert meta["Origin"] == "EXTERNAL" and meta["KeyState"] == "PendingImport", meta
    assert not meta["Enabled"]
    return meta["KeyId"]


def test_imported_material_encrypts_after_every_wrapping_algorithm(berth):
    kms = berth.client("kms")
    for algorithm in ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256",
                      "RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256"):
        key_id = external_key(kms)
        # No material yet: the key cannot encrypt.
        e = expect(kms.encrypt, "KMSInvalidStateException", KeyId=key_id, Plaintext=b"x")
        assert "is pending import." in error_message(e)
        params = kms.get_parameters_for_import(
            KeyId=key_id, WrappingAlgorithm=algorithm, WrappingKeySpec="RSA_2048")
        assert params["KeyId"].endswith(key_id)
        valid = params["ParametersValidTo"].timestamp() - time.time()
        assert 23 * 3600 < valid <= 24 * 3600 + 5
        material = os.urandom(32)
        out = kms.import_key_material(
            KeyId=key_id, ImportToken=params["ImportToken"],
            EncryptedKeyMaterial=wrap(params["PublicKey"], algorithm, material),
            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
        assert len(out["KeyMaterialId"]) == 64
        meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
        assert meta["KeyState"] == "Enabled" and meta["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE"
        assert meta["CurrentKeyMaterialId"] == out["KeyMaterialId"]
        blob = kms.encrypt(KeyId=key_id, Plaintext=b"secret " + algorithm.encode())["CiphertextBlob"]
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"secret " + algorithm.encode()


def test_reimport_needs_the_same_material_and_deletion_stops_the_key(berth, tmp_path):
    kms = berth.client("kms")
    key_id = external_key(kms)
    material = os.urandom(32)
    params = kms.get_parameters_for_import(
        KeyId=key_id, WrappingAlgorithm="RSA_AES_KEY_WRAP_SHA_256", WrappingKeySpec="RSA_3072")
    # The unmodified AWS CLI imports, from files as the docs' recipe leaves them.
    (tmp_path / "token.bin").write_bytes(params["ImportToken"])
    (tmp_path / "material.bin").write_bytes(
        wrap(params["PublicKey"], "RSA_AES_KEY_WRAP_SHA_256", material))
    rc, out, err = berth.aws(
        "kms", "import-key-material", "--key-id", key_id,
        "--encrypted-key-material", f"fileb://{tmp_path / 'material.bin'}",
        "--import-token", f"fileb://{tmp_path / 'token.bin'}",
        "--expiration-model", "KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert rc == 0, err
    assert json.loads(out)["KeyId"].endswith(key_id)
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"kept")["CiphertextBlob"]

    # A key with material takes no second import while it has it.
    expect(kms.import_key_material, "KMSInvalidStateException", KeyId=key_id,
           ImportToken=params["ImportToken"],
           EncryptedKeyMaterial=wrap(params["PublicKey"], "RSA_AES_KEY_WRAP_SHA_256", material),
           ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")

    deleted = kms.delete_imported_key_material(KeyId=key_id)
    assert deleted["KeyId"].endswith(key_id) and len(deleted["KeyMaterialId"]) == 64
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingImport"
    expect(kms.decrypt, "KMSInvalidStateException", CiphertextBlob=blob)
    expect(kms.enable_key, "KMSInvalidStateException", KeyId=key_id)

    # Other material is refused; the same material brings the old ciphertext back.
    params = kms.get_parameters_for_import(
        KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    expect(kms.import_key_material, "IncorrectKeyMaterialException", KeyId=key_id,
           ImportToken=params["ImportToken"],
           EncryptedKeyMaterial=wrap(params["PublicKey"], "RSAES_OAEP_SHA_256", os.urandom(32)),
           ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    kms.import_key_material(
        KeyId=key_id, ImportToken=params["ImportToken"],
        EncryptedKeyMaterial=wrap(params["PublicKey"], "RSAES_OAEP_SHA_256", material),
        ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"kept"


def test_import_refusals(berth):
    kms = berth.client("kms")
    key_id = external_key(kms)
    other_id = external_key(kms)
    params = kms.get_parameters_for_import(
        KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_1", WrappingKeySpec="RSA_2048")
    good = wrap(params["PublicKey"], "RSAES_OAEP_SHA_1", os.urandom(32))
    # The token is bound to its key.
    expect(kms.import_key_material, "InvalidImportTokenException", KeyId=other_id,
           ImportToken=params["ImportToken"], EncryptedKeyMaterial=good,
           ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    # Material wrapped under another algorithm does not unwrap.
    expect(kms.import_key_material, "InvalidCiphertextException", KeyId=key_id,
           ImportToken=params["ImportToken"],
           EncryptedKeyMaterial=wrap(params["PublicKey"], "RSAES_OAEP_SHA_256", os.urandom(32)),
           ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    # A symmetric key takes 256 bits.
    expect(kms.import_key_material, "IncorrectKeyMaterialException", KeyId=key_id,
           ImportToken=params["ImportToken"],
           EncryptedKeyMaterial=wrap(params["PublicKey"], "RSAES_OAEP_SHA_1", os.urandom(16)),
           ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    # KEY_MATERIAL_EXPIRES (the default) needs a ValidTo; DOES_NOT_EXPIRE takes none.
    expect(kms.import_key_material, "ValidationException", KeyId=key_id,
           ImportToken=params["ImportToken"], EncryptedKeyMaterial=good)
    expect(kms.import_key_material, "ValidationException", KeyId=key_id,
           ImportToken=params["ImportToken"], EncryptedKeyMaterial=good,
           ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE", ValidTo=time.time() + 3600)
    # A key of AWS's own material takes no import.
    plain = kms.create_key()["KeyMetadata"]["KeyId"]
    e = expect(kms.get_parameters_for_import, "UnsupportedOperationException", KeyId=plain,
               WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    assert "origin is AWS_KMS which is not valid for this operation." in error_message(e)
    expect(kms.delete_imported_key_material, "UnsupportedOperationException", KeyId=plain)


def test_imported_material_expires_at_valid_to(berth):
    kms = berth.client("kms")
    key_id = external_key(kms)
    params = kms.get_parameters_for_import(
        KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    kms.import_key_material(
        KeyId=key_id, ImportToken=params["ImportToken"],
        EncryptedKeyMaterial=wrap(params["PublicKey"], "RSAES_OAEP_SHA_256", os.urandom(32)),
        ExpirationModel="KEY_MATERIAL_EXPIRES", ValidTo=time.time() + 3)
    meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["KeyState"] == "Enabled" and meta["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    assert "ValidTo" in meta
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"soon gone")["CiphertextBlob"]
    deadline = time.time() + 15
    while kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] != "PendingImport":
        assert time.time() < deadline, "the material did not expire"
        time.sleep(0.2)
    expect(kms.decrypt, "KMSInvalidStateException", CiphertextBlob=blob)


# --- multi-Region keys ------------------------------------------------------------------------


def test_a_multi_region_key_replicates_and_its_ciphertext_crosses_regions(berth):
    east, west = berth.client("kms"), berth.client("kms", region=OTHER)
    meta = east.create_key(MultiRegion=True, Description="primary")["KeyMetadata"]
    key_id = meta["KeyId"]
    assert key_id.startswith("mrk-") and len(key_id) == 36 and meta["MultiRegion"] is True
    assert meta["MultiRegionConfiguration"]["MultiRegionKeyType"] == "PRIMARY"
    assert meta["MultiRegionConfiguration"]["ReplicaKeys"] == []

    out = east.replicate_key(KeyId=key_id, ReplicaRegion=OTHER, Description="replica",
                             Tags=[{"TagKey": "side", "TagValue": "west"}])
    replica = out["ReplicaKeyMetadata"]
    assert replica["Arn"] == f"arn:aws:kms:{OTHER}:000000000000:key/{key_id}"
    assert replica["Description"] == "replica" and replica["KeyState"] == "Enabled"
    assert out["ReplicaTags"] == [{"TagKey": "side", "TagValue": "west"}]
    assert json.loads(out["ReplicaPolicy"])["Statement"]
    conf = west.describe_key(KeyId=key_id)["KeyMetadata"]["MultiRegionConfiguration"]
    assert conf["MultiRegionKeyType"] == "REPLICA"
    assert conf["PrimaryKey"] == {"Arn": meta["Arn"], "Region": REGION}
    conf = east.describe_key(KeyId=key_id)["KeyMetadata"]["MultiRegionConfiguration"]
    assert conf["ReplicaKeys"] == [{"Arn": replica["Arn"], "Region": OTHER}]
    assert east.describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == "primary"

    # Same material: what one region encrypts, the other decrypts.
    blob = east.encrypt(KeyId=key_id, Plaintext=b"from east",
                        EncryptionContext={"k": "v"})["CiphertextBlob"]
    got = west.decrypt(CiphertextBlob=blob, EncryptionContext={"k": "v"})
    assert got["Plaintext"] == b"from east" and got["KeyId"] == replica["Arn"]
    blob = west.encrypt(KeyId=key_id, Plaintext=b"from west")["CiphertextBlob"]
    assert east.decrypt(CiphertextBlob=blob, KeyId=key_id)["Plaintext"] == b"from west"

    expect(east.replicate_key, "AlreadyExistsException", KeyId=key_id, ReplicaRegion=OTHER)
    expect(east.create_key, "UnsupportedOperationException", MultiRegion=True, Origin="EXTERNAL")
    single = east.create_key()["KeyMetadata"]["KeyId"]
    expect(east.replicate_key, "UnsupportedOperationException", KeyId=single, ReplicaRegion=OTHER)
    # A single-Region key's ciphertext stays in its region.
    blob = east.encrypt(KeyId=single, Plaintext=b"here")["CiphertextBlob"]
    expect(west.decrypt, "InvalidCiphertextException", CiphertextBlob=blob)

    # The replica becomes primary.
    east.update_primary_region(KeyId=key_id, PrimaryRegion=OTHER)
    conf = east.describe_key(KeyId=key_id)["KeyMetadata"]["MultiRegionConfiguration"]
    assert conf["MultiRegionKeyType"] == "REPLICA" and conf["PrimaryKey"]["Region"] == OTHER
    conf = west.describe_key(KeyId=key_id)["KeyMetadata"]["MultiRegionConfiguration"]
    assert conf["MultiRegionKeyType"] == "PRIMARY" and conf["ReplicaKeys"][0]["Region"] == REGION

    # On-demand rotation of the primary reaches the replica: new ciphertext still crosses.
    west.rotate_key_on_demand(KeyId=key_id)
    blob = west.encrypt(KeyId=key_id, Plaintext=b"rotated")["CiphertextBlob"]
    assert east.decrypt(CiphertextBlob=blob)["Plaintext"] == b"rotated"
    assert (east.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]
            == west.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"])


# --- key agreement, ML-KEM, last usage -----------------------------------------------------------


@pytest.mark.parametrize("spec,curve", [
    ("ECC_NIST_P256", ec.SECP256R1()),
    ("ECC_NIST_P384", ec.SECP384R1()),
    ("ECC_NIST_P521", ec.SECP521R1()),
])
def test_derive_shared_secret_matches_ecdh(berth, spec, curve):
    kms = berth.client("kms")
    meta = kms.create_key(KeySpec=spec, KeyUsage="KEY_AGREEMENT")["KeyMetadata"]
    assert meta["KeyAgreementAlgorithms"] == ["ECDH"] and "SigningAlgorithms" not in meta
    key_id = meta["KeyId"]
    theirs = ec.generate_private_key(curve)
    their_public = theirs.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    out = kms.derive_shared_secret(KeyId=key_id, KeyAgreementAlgorithm="ECDH",
                                   PublicKey=their_public)
    assert out["KeyAgreementAlgorithm"] == "ECDH" and out["KeyOrigin"] == "AWS_KMS"
    ours = serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)["PublicKey"])
    assert out["SharedSecret"] == theirs.exchange(ec.ECDH(), ours)

    # A key of another curve, a signing key, a disabled key.
    other = ec.generate_private_key(ec.SECP256K1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    expect(kms.derive_shared_secret, "ValidationException", KeyId=key_id,
           KeyAgreementAlgorithm="ECDH", PublicKey=other)
    expect(kms.sign, "InvalidKeyUsageException", KeyId=key_id, Message=b"m",
           SigningAlgorithm="ECDSA_SHA_256")
    signer = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    expect(kms.derive_shared_secret, "InvalidKeyUsageException", KeyId=signer,
           KeyAgreementAlgorithm="ECDH", PublicKey=their_public)
    kms.disable_key(KeyId=key_id)
    expect(kms.derive_shared_secret, "DisabledException", KeyId=key_id,
           KeyAgreementAlgorithm="ECDH", PublicKey=their_public)


def call(berth, operation, body):
    """A KMS call this botocore may not know yet, signed and sent as JSON 1.1."""
    status, _, raw = berth.raw(
        json.dumps(body).encode(),
        headers={"Content-Type": "application/x-amz-json-1.1",
                 "X-Amz-Target": f"TrentService.{operation}"},
        sign=("kms", REGION))
    return status, json.loads(raw)


@pytest.mark.parametrize("spec,ct_len", [("ML_KEM_512", 768), ("ML_KEM_768", 1088), ("ML_KEM_1024", 1568)])
def test_ml_kem_encapsulates_and_decapsulates(berth, spec, ct_len):
    kms = berth.client("kms")
    meta = kms.create_key(KeySpec=spec)["KeyMetadata"]
    assert meta["KeyUsage"] == "ENCAPSULATE_DECAPSULATE", meta
    key_id = meta["KeyId"]
    # This botocore predates the member: read it from the wire.
    status, described = call(berth, "DescribeKey", {"KeyId": key_id})
    assert described["KeyMetadata"]["EncapsulationAlgorithms"] == ["ML_KEM"], described
    status, enc = call(berth, "Encapsulate", {"KeyId": key_id, "EncapsulationAlgorithm": "ML_KEM"})
    assert status == 200, enc
    secret, ct = base64.b64decode(enc["SharedSecret"]), base64.b64decode(enc["SharedSecretCiphertextBlob"])
    assert len(secret) == 32 and len(ct) == ct_len
    status, dec = call(berth, "Decapsulate", {
        "KeyId": key_id, "EncapsulationAlgorithm": "ML_KEM",
        "SharedSecretCiphertextBlob": enc["SharedSecretCiphertextBlob"]})
    assert status == 200 and base64.b64decode(dec["SharedSecret"]) == secret, dec
    status, public = call(berth, "GetPublicKey", {"KeyId": key_id})
    assert public["EncapsulationAlgorithms"] == ["ML_KEM"], public
    public["PublicKey"] = base64.b64decode(public["PublicKey"])
    if spec != "ML_KEM_512":  # Python's cryptography has no ML-KEM-512
        theirs = serialization.load_der_public_key(public["PublicKey"])
        their_secret, their_ct = theirs.encapsulate()
        status, dec = call(berth, "Decapsulate", {
            "KeyId": key_id, "EncapsulationAlgorithm": "ML_KEM",
            "SharedSecretCiphertextBlob": base64.b64encode(their_ct).decode()})
        assert status == 200 and base64.b64decode(dec["SharedSecret"]) == their_secret, dec
    status, out = call(berth, "Decapsulate", {
        "KeyId": key_id, "EncapsulationAlgorithm": "ML_KEM",
        "SharedSecretCiphertextBlob": base64.b64encode(ct[:-1]).decode()})
    assert (status, out["__type"]) == (400, "InvalidCiphertextException"), out
    expect(kms.encrypt, "InvalidKeyUsageException", KeyId=key_id, Plaintext=b"x")


def test_encapsulate_refuses_keys_that_are_not_ml_kem_and_last_usage_answers(berth):
    kms = berth.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    status, out = call(berth, "Encapsulate", {"KeyId": key_id, "EncapsulationAlgorithm": "ML_KEM"})
    assert (status, out["__type"]) == (400, "InvalidKeyUsageException"), out
    assert out["message"].endswith("key usage is ENCRYPT_DECRYPT which is not valid for Encapsulate.")
    status, out = call(berth, "Decapsulate", {
        "KeyId": key_id, "EncapsulationAlgorithm": "ML_KEM",
        "SharedSecretCiphertextBlob": base64.b64encode(b"c" * 32).decode()})
    assert (status, out["__type"]) == (400, "InvalidKeyUsageException"), out
    status, out = call(berth, "Encapsulate", {"KeyId": key_id, "EncapsulationAlgorithm": "RSA"})
    assert (status, out["__type"]) == (400, "ValidationException"), out

    status, out = call(berth, "GetKeyLastUsage", {"KeyId": key_id})
    assert status == 200, out
    assert out["KeyId"].endswith(key_id) and out["KeyLastUsage"] == {}
    assert out["KeyCreationDate"] <= out["TrackingStartDate"]
    status, out = call(berth, "GetKeyLastUsage", {"KeyId": "11111111-2222-3333-4444-555555555555"})
    assert (status, out["__type"]) == (400, "NotFoundException"), out
