"""KMS GetKeyLastUsage end to end: a key's last successful cryptographic use, including
Secrets Manager's use of the key on the caller's behalf (docs/kms.md, "Last usage")."""

import json
import time

from conftest import REGION


def last_usage(berth, key_id):
    """GetKeyLastUsage, which this botocore may not know yet, signed and sent as JSON 1.1."""
    status, _, raw = berth.raw(
        json.dumps({"KeyId": key_id}).encode(),
        headers={"Content-Type": "application/x-amz-json-1.1",
                 "X-Amz-Target": "TrentService.GetKeyLastUsage"},
        sign=("kms", REGION))
    assert status == 200, raw
    return json.loads(raw)


def test_the_last_use_names_the_operation_and_its_request(berth):
    kms = berth.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    out = last_usage(berth, key_id)
    assert out["KeyLastUsage"] == {}, out
    before = time.time()
    enc = kms.encrypt(KeyId=key_id, Plaintext=b"x")
    out = last_usage(berth, key_id)
    used = out["KeyLastUsage"]
    assert used["Operation"] == "Encrypt", out
    assert used["KmsRequestId"] == enc["ResponseMetadata"]["RequestId"], (used, enc["ResponseMetadata"])
    assert before - 1 <= used["Timestamp"] <= time.time() + 1, out
    assert "CloudTrailEventId" not in used
    assert out["KeyCreationDate"] <= out["TrackingStartDate"] <= used["Timestamp"], out


def test_secrets_manager_s_use_of_a_key_is_its_use(berth):
    kms, sm = berth.client("kms"), berth.client("secretsmanager")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    created = sm.create_secret(Name="last-usage/db", KmsKeyId=key_id, SecretString="v")
    out = last_usage(berth, key_id)
    assert out["KeyLastUsage"]["Operation"] == "GenerateDataKey", out
    assert out["KeyLastUsage"]["KmsRequestId"] == created["ResponseMetadata"]["RequestId"], out
    assert sm.get_secret_value(SecretId="last-usage/db")["SecretString"] == "v"
    # Within the minute the first recorded use stands (docs/kms.md); the other key has none.
    assert last_usage(berth, key_id)["KeyLastUsage"]["Operation"] == "GenerateDataKey"
    assert last_usage(berth, other)["KeyLastUsage"] == {}
