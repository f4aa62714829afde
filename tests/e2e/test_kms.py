"""KMS end to end: keys, aliases, key policies and real AES-256-GCM through boto3 and the AWS
CLI, with AWS's error codes and messages."""

import base64
import json

from conftest import REGION, error_message, json_body
from helpers import allow, expect, other_account, user_creds

ACCOUNT = "000000000000"
OTHER = "111122223333"


# --- keys -----------------------------------------------------------------------------------


def test_create_describe_list_and_default_policy(berth):
    kms = berth.client("kms")
    meta = kms.create_key(Description="app key", Tags=[{"TagKey": "team", "TagValue": "a"}])["KeyMetadata"]
    key_id = meta["KeyId"]
    assert meta["Arn"] == f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}"
    assert meta["AWSAccountId"] == ACCOUNT
    assert meta["Enabled"] is True and meta["KeyState"] == "Enabled"
    assert meta["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert meta["KeySpec"] == "SYMMETRIC_DEFAULT" and meta["CustomerMasterKeySpec"] == "SYMMETRIC_DEFAULT"
    assert meta["KeyManager"] == "CUSTOMER" and meta["Origin"] == "AWS_KMS"
    assert meta["EncryptionAlgorithms"] == ["SYMMETRIC_DEFAULT"]
    assert meta["Description"] == "app key"

    assert kms.describe_key(KeyId=key_id)["KeyMetadata"] == meta
    assert kms.describe_key(KeyId=meta["Arn"])["KeyMetadata"]["KeyId"] == key_id

    policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    assert policy == {
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }

    second = kms.create_key()["KeyMetadata"]["KeyId"]
    listed = kms.list_keys()
    assert sorted(k["KeyId"] for k in listed["Keys"]) == sorted([key_id, second])
    assert listed["Truncated"] is False
    page = kms.list_keys(Limit=1)
    assert page["Truncated"] is True and len(page["Keys"]) == 1
    rest = kms.list_keys(Limit=1, Marker=page["NextMarker"])
    assert rest["Truncated"] is False
    assert {page["Keys"][0]["KeyId"], rest["Keys"][0]["KeyId"]} == {key_id, second}

    # Regions are separate namespaces.
    assert berth.client("kms", region="eu-west-1").list_keys()["Keys"] == []
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "team", "TagValue": "b"}])


def test_unknown_keys_and_unsupported_specs(berth):
    kms = berth.client("kms")
    missing = "11111111-2222-3333-4444-555555555555"
    expect(kms.describe_key, "NotFoundException",
           f"Key 'arn:aws:kms:{REGION}:{ACCOUNT}:key/{missing}' does not exist", KeyId=missing)
    expect(kms.describe_key, "NotFoundException", "Invalid keyId 'not-a-key'", KeyId="not-a-key")
    expect(kms.describe_key, "NotFoundException",
           f"Alias arn:aws:kms:{REGION}:{ACCOUNT}:alias/nope is not found.", KeyId="alias/nope")
    expect(kms.encrypt, "NotFoundException", KeyId="alias/nope", Plaintext=b"x")
    other_region = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/{missing}"
    expect(kms.describe_key, "NotFoundException", "Invalid arn eu-west-1", KeyId=other_region)
    expect(kms.create_key, "UnsupportedOperationException", Origin="AWS_CLOUDHSM")
    expect(kms.create_key, "UnsupportedOperationException", Origin="EXTERNAL", KeySpec="RSA_2048")
    expect(kms.create_key, "MalformedPolicyDocumentException", Policy="{not json")


def test_key_policy_round_trip(berth):
    kms = berth.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
             "Action": "kms:*", "Resource": "*"}
        ],
    }
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(doc))
    assert json.loads(kms.get_key_policy(KeyId=key_id)["Policy"]) == doc
    expect(kms.put_key_policy, "MalformedPolicyDocumentException", KeyId=key_id, PolicyName="default", Policy="[]")
    # A policy that would lock the caller out is refused unless the caller insists.
    others_only = json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/someone"},
                       "Action": "kms:*", "Resource": "*"}],
    })
    expect(kms.put_key_policy, "MalformedPolicyDocumentException",
           "The new key policy will not allow you to update the key policy in the future.",
           KeyId=key_id, PolicyName="default", Policy=others_only)
    assert json.loads(kms.get_key_policy(KeyId=key_id)["Policy"]) == doc
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=others_only, BypassPolicyLockoutSafetyCheck=True)
    expect(kms.get_key_policy, "AccessDeniedException", KeyId=key_id)


# --- cryptography ---------------------------------------------------------------------------


def test_encrypt_decrypt_with_context(berth):
    kms = berth.client("kms")
    key = kms.create_key()["KeyMetadata"]
    ctx = {"purpose": "e2e", "tenant": "7"}
    out = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"attack at dawn", EncryptionContext=ctx)
    assert out["KeyId"] == key["Arn"] and out["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    blob = out["CiphertextBlob"]
    assert b"attack at dawn" not in blob
    # KeyId is optional: the blob names its key.
    got = kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx)
    assert got["Plaintext"] == b"attack at dawn" and got["KeyId"] == key["Arn"]
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx, KeyId=key["Arn"])["Plaintext"] == b"attack at dawn"
    # Two encryptions differ (fresh nonce).
    assert kms.encrypt(KeyId=key["KeyId"], Plaintext=b"attack at dawn", EncryptionContext=ctx)["CiphertextBlob"] != blob

    # A context that differs in any way: InvalidCiphertextException with no message.
    for wrong in [{}, {"purpose": "e2e"}, {"purpose": "e2e", "tenant": "8"}, {**ctx, "extra": "1"}]:
        expect(kms.decrypt, "InvalidCiphertextException", "", CiphertextBlob=blob, EncryptionContext=wrong)

    # Naming another key: IncorrectKeyException.
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    expect(kms.decrypt, "IncorrectKeyException",
           "The key ID in the request does not identify a CMK that can perform this operation.",
           CiphertextBlob=blob, EncryptionContext=ctx, KeyId=other)
    # A blob from another key with its bytes altered, and garbage.
    tampered = bytearray(blob)
    tampered[-1] ^= 1
    expect(kms.decrypt, "InvalidCiphertextException", "", CiphertextBlob=bytes(tampered), EncryptionContext=ctx)
    expect(kms.decrypt, "InvalidCiphertextException", "", CiphertextBlob=b"\x00" * 64)

    # DryRun checks and does nothing.
    dry = "The request would have succeeded, but the DryRun option is set."
    expect(kms.encrypt, "DryRunOperationException", dry, KeyId=key["KeyId"], Plaintext=b"x", DryRun=True)
    expect(kms.decrypt, "DryRunOperationException", dry, CiphertextBlob=blob, EncryptionContext=ctx, DryRun=True)

    # Plaintext limits: 4096 bytes works, 4097 does not.
    assert kms.decrypt(CiphertextBlob=kms.encrypt(KeyId=other, Plaintext=b"a" * 4096)["CiphertextBlob"])["Plaintext"] == b"a" * 4096
    expect(kms.encrypt, "ValidationException", KeyId=other, Plaintext=b"a" * 4097)


def test_data_keys_and_reencrypt(berth):
    kms = berth.client("kms")
    k1 = kms.create_key()["KeyMetadata"]
    k2 = kms.create_key()["KeyMetadata"]
    ctx = {"file": "a.txt"}
    dk = kms.generate_data_key(KeyId=k1["KeyId"], KeySpec="AES_256", EncryptionContext=ctx)
    assert len(dk["Plaintext"]) == 32 and dk["KeyId"] == k1["Arn"]
    assert kms.decrypt(CiphertextBlob=dk["CiphertextBlob"], EncryptionContext=ctx)["Plaintext"] == dk["Plaintext"]
    assert len(kms.generate_data_key(KeyId=k1["KeyId"], KeySpec="AES_128")["Plaintext"]) == 16
    assert len(kms.generate_data_key(KeyId=k1["KeyId"], NumberOfBytes=1024)["Plaintext"]) == 1024
    expect(kms.generate_data_key, "ValidationException", KeyId=k1["KeyId"], NumberOfBytes=1025)
    expect(kms.generate_data_key, "ValidationException", "Please specify either number of bytes or key spec.",
           KeyId=k1["KeyId"])
    expect(kms.generate_data_key, "ValidationException", KeyId=k1["KeyId"], KeySpec="AES_256", NumberOfBytes=32)
    wo = kms.generate_data_key_without_plaintext(KeyId=k1["KeyId"], KeySpec="AES_256")
    assert "Plaintext" not in wo
    assert len(kms.decrypt(CiphertextBlob=wo["CiphertextBlob"])["Plaintext"]) == 32

    blob = kms.encrypt(KeyId=k1["KeyId"], Plaintext=b"move me", EncryptionContext=ctx)["CiphertextBlob"]
    re = kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext=ctx, DestinationKeyId=k2["KeyId"],
                        DestinationEncryptionContext={"new": "ctx"})
    assert re["SourceKeyId"] == k1["Arn"] and re["KeyId"] == k2["Arn"]
    assert kms.decrypt(CiphertextBlob=re["CiphertextBlob"], EncryptionContext={"new": "ctx"})["Plaintext"] == b"move me"
    expect(kms.decrypt, "IncorrectKeyException", CiphertextBlob=re["CiphertextBlob"],
           EncryptionContext={"new": "ctx"}, KeyId=k1["KeyId"])


def test_cli_encrypt_decrypt(berth, tmp_path):
    rc, out, err = berth.aws("kms", "create-key", "--description", "cli")
    assert rc == 0, err
    key_id = json.loads(out)["KeyMetadata"]["KeyId"]
    (tmp_path / "plain").write_bytes(b"from the cli")
    rc, out, err = berth.aws("kms", "encrypt", "--key-id", key_id, "--plaintext", f"fileb://{tmp_path / 'plain'}",
                             "--encryption-context", "app=cli", "--output", "json")
    assert rc == 0, err
    blob = base64.b64decode(json.loads(out)["CiphertextBlob"])
    (tmp_path / "blob").write_bytes(blob)
    rc, out, err = berth.aws("kms", "decrypt", "--ciphertext-blob", f"fileb://{tmp_path / 'blob'}",
                             "--encryption-context", "app=cli", "--output", "json")
    assert rc == 0, err
    assert base64.b64decode(json.loads(out)["Plaintext"]) == b"from the cli"
    rc, out, err = berth.aws("kms", "decrypt", "--ciphertext-blob", f"fileb://{tmp_path / 'blob'}")
    assert rc == 255
    assert "An error occurred (InvalidCiphertextException) when calling the Decrypt operation" in err


# --- aliases --------------------------------------------------------------------------------


def test_aliases(berth):
    kms = berth.client("kms")
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/app", TargetKeyId=key["KeyId"])
    alias_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/app"
    for ref in ["alias/app", alias_arn]:
        assert kms.describe_key(KeyId=ref)["KeyMetadata"]["KeyId"] == key["KeyId"]
    blob = kms.encrypt(KeyId="alias/app", Plaintext=b"via alias")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob, KeyId="alias/app")["Plaintext"] == b"via alias"

    expect(kms.create_alias, "AlreadyExistsException", f"An alias with the name {alias_arn} already exists",
           AliasName="alias/app", TargetKeyId=key["KeyId"])
    # alias/aws/ is reserved for AWS managed keys. The KMS API reference names no exception for
    # it (CreateAlias's modelled errors have InvalidAliasNameException, DeleteAlias's none); the
    # answer observed from AWS (and kept in moto's tests) is NotAuthorizedException, 400, with
    # no message.
    expect(kms.create_alias, "NotAuthorizedException", "", AliasName="alias/aws/mine", TargetKeyId=key["KeyId"])
    for op, body in [("CreateAlias", {"AliasName": "alias/aws/mine", "TargetKeyId": key["KeyId"]}),
                     ("DeleteAlias", {"AliasName": "alias/aws/secretsmanager"})]:
        status, _, raw = berth.raw(
            json.dumps(body).encode(),
            headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"TrentService.{op}"},
            sign=("kms", REGION),
        )
        assert (status, json_body(raw)) == (400, {"__type": "NotAuthorizedException"}), (op, raw)
    expect(kms.create_alias, "ValidationException",
           'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html',
           AliasName="app2", TargetKeyId=key["KeyId"])
    expect(kms.create_alias, "ValidationException", AliasName="alias/bad name", TargetKeyId=key["KeyId"])
    expect(kms.create_alias, "NotFoundException", AliasName="alias/x",
           TargetKeyId="11111111-2222-3333-4444-555555555555")

    listed = kms.list_aliases()["Aliases"]
    assert [(a["AliasName"], a["AliasArn"], a["TargetKeyId"]) for a in listed] == [("alias/app", alias_arn, key["KeyId"])]
    assert kms.list_aliases(KeyId=key["KeyId"])["Aliases"][0]["AliasName"] == "alias/app"
    kms.delete_alias(AliasName="alias/app")
    expect(kms.delete_alias, "NotFoundException", f"Alias {alias_arn} is not found.", AliasName="alias/app")
    expect(kms.delete_alias, "NotAuthorizedException", "", AliasName="alias/aws/secretsmanager")
    expect(kms.describe_key, "NotFoundException", KeyId="alias/app")


# --- key states -----------------------------------------------------------------------------


def test_disable_enable_schedule_cancel(berth):
    kms = berth.client("kms")
    key = kms.create_key()["KeyMetadata"]
    arn, key_id = key["Arn"], key["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]

    kms.disable_key(KeyId=key_id)
    meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["Enabled"] is False and meta["KeyState"] == "Disabled"
    expect(kms.encrypt, "DisabledException", f"{arn} is disabled.", KeyId=key_id, Plaintext=b"x")
    expect(kms.decrypt, "DisabledException", f"{arn} is disabled.", CiphertextBlob=blob)
    expect(kms.generate_data_key, "DisabledException", KeyId=key_id, KeySpec="AES_256")
    kms.enable_key(KeyId=key_id)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"

    for bad in [6, 31]:
        expect(kms.schedule_key_deletion, "ValidationException", KeyId=key_id, PendingWindowInDays=bad)
    out = kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    assert out["KeyId"] == arn and out["KeyState"] == "PendingDeletion" and out["PendingWindowInDays"] == 7
    meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["KeyState"] == "PendingDeletion" and meta["Enabled"] is False
    assert meta["PendingDeletionWindowInDays"] == 7
    assert (meta["DeletionDate"] - meta["CreationDate"]).days in (6, 7)
    pending = f"{arn} is pending deletion."
    expect(kms.encrypt, "KMSInvalidStateException", pending, KeyId=key_id, Plaintext=b"x")
    expect(kms.decrypt, "KMSInvalidStateException", pending, CiphertextBlob=blob)
    expect(kms.enable_key, "KMSInvalidStateException", pending, KeyId=key_id)
    expect(kms.schedule_key_deletion, "KMSInvalidStateException", pending, KeyId=key_id)

    assert kms.cancel_key_deletion(KeyId=key_id)["KeyId"] == arn
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"
    expect(kms.cancel_key_deletion, "KMSInvalidStateException", KeyId=key_id)
    kms.enable_key(KeyId=key_id)
    assert kms.schedule_key_deletion(KeyId=key_id)["PendingWindowInDays"] == 30


# --- the AWS managed key --------------------------------------------------------------------


def test_secrets_manager_managed_key(berth):
    kms = berth.client("kms")
    meta = kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]
    assert meta["KeyManager"] == "AWS"
    assert meta["Description"] == "Default key that protects my Secrets Manager data when no other key is defined"
    # Made once.
    assert kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]["KeyId"] == meta["KeyId"]
    policy = json.loads(kms.get_key_policy(KeyId=meta["KeyId"])["Policy"])
    first = policy["Statement"][0]
    assert first["Principal"] == {"AWS": ["*"]}
    assert first["Condition"]["StringEquals"] == {
        "kms:CallerAccount": ACCOUNT,
        "kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com",
    }
    assert policy["Statement"][-1]["Action"] == ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"]
    # Not through Secrets Manager, even root may not use it directly.
    e = expect(kms.encrypt, "AccessDeniedException", KeyId="alias/aws/secretsmanager", Plaintext=b"x")
    assert "kms:Encrypt" in error_message(e)
    expect(kms.disable_key, "AccessDeniedException", KeyId=meta["KeyId"])


# --- policy -----------------------------------------------------------------------------------


def test_iam_user_needs_permission_delegated_by_key_policy(berth):
    kms = berth.client("kms")
    key = kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"secret")["CiphertextBlob"]
    nobody = user_creds(berth, "nobody")
    e = expect(berth.client("kms", creds=nobody).decrypt, "AccessDeniedException", CiphertextBlob=blob)
    assert error_message(e) == (
        f"User: arn:aws:iam::{ACCOUNT}:user/nobody is not authorized to perform: kms:Decrypt on resource: "
        f"{key['Arn']} because no identity-based policy allows the kms:Decrypt action"
    )
    reader = user_creds(berth, "reader", allow("kms:Decrypt", key["Arn"]))
    assert berth.client("kms", creds=reader).decrypt(CiphertextBlob=blob)["Plaintext"] == b"secret"
    expect(berth.client("kms", creds=reader).encrypt, "AccessDeniedException", KeyId=key["KeyId"], Plaintext=b"x")


def test_key_policy_without_account_delegation_binds_even_root(berth):
    kms = berth.client("kms")
    alice = user_creds(berth, "alice", allow("kms:*"))
    alice_arn = f"arn:aws:iam::{ACCOUNT}:user/alice"
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": alice_arn}, "Action": "kms:*", "Resource": "*"}],
    }
    lockout = "The new key policy will not allow you to update the key policy in the future."
    expect(kms.create_key, "MalformedPolicyDocumentException", lockout, Policy=json.dumps(policy))
    key = kms.create_key(Policy=json.dumps(policy), BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]
    e = expect(kms.encrypt, "AccessDeniedException", KeyId=key["KeyId"], Plaintext=b"x")
    assert "because no resource-based policy allows the kms:Encrypt action" in error_message(e)
    blob = berth.client("kms", creds=alice).encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    assert berth.client("kms", creds=alice).decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"


def test_cross_account_key_needs_key_policy_and_arn(berth):
    kms = berth.client("kms")
    other = other_account(berth, OTHER)
    okms = berth.client("kms", creds=other)
    # B's key, whose policy lets account A use it.
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "owner", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "consumer", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
             "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"},
        ],
    }
    shared = okms.create_key(Policy=json.dumps(policy))["KeyMetadata"]
    private = okms.create_key()["KeyMetadata"]
    # A names it by ARN; a bare id is A's own namespace.
    blob = kms.encrypt(KeyId=shared["Arn"], Plaintext=b"across")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"across"
    assert okms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"across"
    expect(kms.encrypt, "NotFoundException", KeyId=shared["KeyId"], Plaintext=b"x")
    # B's default policy trusts only B.
    expect(kms.encrypt, "AccessDeniedException", KeyId=private["Arn"], Plaintext=b"x")
    pblob = okms.encrypt(KeyId=private["KeyId"], Plaintext=b"mine")["CiphertextBlob"]
    expect(kms.decrypt, "AccessDeniedException", CiphertextBlob=pblob)
