"""Helpers the end-to-end test files share: policy documents, users with keys, more accounts."""

import json
import subprocess

from conftest import Creds, berth_bin


def allow(actions, resources="*"):
    """An identity policy allowing `actions` on `resources`."""
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resources}]}


def trust_user(user_arn):
    """A role trust policy letting one principal assume the role."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "sts:AssumeRole"}],
    }


def user_creds(berth, name, policy=None, creds=None, policy_name="p"):
    """Creates IAM user `name` (as `creds`, root by default) with an optional inline policy and
    returns the credentials of a fresh access key of it."""
    iam = berth.client("iam", creds=creds)
    iam.create_user(UserName=name)
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName=policy_name, PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Creds(key["AccessKeyId"], key["SecretAccessKey"])


def other_account(berth, account):
    """Adds an account with `berth account create` (the server keeps running) and returns its
    root credentials."""
    p = subprocess.run(
        [berth_bin(), "account", "create", account, "--data-dir", str(berth.data_dir)],
        capture_output=True, text=True, timeout=30,
    )
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    return Creds(out["AccessKeyId"], out["SecretAccessKey"])
