"""What a role session carries, end to end: session tags (checked, required by the trust policy,
seen as `aws:PrincipalTag`, transitive through a role chain and not overridable), the source
identity, MFA on GetSessionToken and AssumeRole (a TOTP code of the user's virtual device), and a
federated user's principal keys."""

import json
import time

import pytest
from botocore.exceptions import ClientError

from conftest import Creds, error_code, error_message
from helpers import allow, totp, user_creds

ACCOUNT = "000000000000"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"


def session(resp):
    c = resp["Credentials"]
    return Creds(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])


def trust(principal, actions, condition=None):
    st = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": actions}
    if condition:
        st["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [st]})


def when(actions, condition):
    """An identity policy allowing `actions` on everything under `condition`."""
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": actions, "Resource": "*", "Condition": condition},
    ]}


def denied(call, status=403, code="AccessDenied", message=None, contains=None):
    with pytest.raises(ClientError) as e:
        call()
    assert error_code(e.value).startswith(code), e.value.response
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    if message is not None:
        assert error_message(e.value) == message, e.value.response
    if contains is not None:
        assert contains in error_message(e.value), e.value.response
    return e.value


def test_session_tags_are_principal_tags_and_need_tag_session(berth):
    alice = user_creds(berth, "alice", allow("sts:AssumeRole"))
    iam = berth.client("iam")
    berth.client("secretsmanager").create_secret(Name="db", SecretString="x")
    # The role is tagged team=ops; its policy allows DescribeSecret to team blue only.
    iam.create_role(
        RoleName="app", AssumeRolePolicyDocument=trust(ALICE, ["sts:AssumeRole", "sts:TagSession"]),
        Tags=[{"Key": "team", "Value": "ops"}],
    )
    iam.put_role_policy(RoleName="app", PolicyName="p", PolicyDocument=json.dumps(
        when("secretsmanager:DescribeSecret", {"StringEquals": {"aws:PrincipalTag/team": "blue"}})))
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/app"
    sts = berth.client("sts", creds=alice)

    plain = sts.assume_role(RoleArn=role_arn, RoleSessionName="plain")
    assert "PackedPolicySize" not in plain
    denied(lambda: berth.client("secretsmanager", creds=session(plain)).describe_secret(SecretId="db"),
           status=400, code="AccessDeniedException")

    # A session tag of the same key in another case replaces the role's tag.
    tagged = sts.assume_role(RoleArn=role_arn, RoleSessionName="tagged", Tags=[{"Key": "Team", "Value": "blue"}])
    assert 0 < tagged["PackedPolicySize"] <= 100
    sm = berth.client("secretsmanager", creds=session(tagged))
    assert sm.describe_secret(SecretId="db")["Name"] == "db"

    # Without sts:TagSession in the trust policy, tags are refused in AWS's words.
    iam.create_role(RoleName="notags", AssumeRolePolicyDocument=trust(ALICE, "sts:AssumeRole"))
    notags = f"arn:aws:iam::{ACCOUNT}:role/notags"
    denied(
        lambda: sts.assume_role(RoleArn=notags, RoleSessionName="s1", Tags=[{"Key": "team", "Value": "blue"}]),
        message=f"User: {ALICE} is not authorized to perform: sts:TagSession on resource: {notags}",
    )
    assert sts.assume_role(RoleArn=notags, RoleSessionName="s1")["AssumedRoleUser"]["Arn"].endswith("/notags/s1")

    # 50 long tags fill more than the packed space.
    big = [{"Key": f"k{i:02d}" + "x" * 100, "Value": "v" * 200} for i in range(50)]
    denied(lambda: sts.assume_role(RoleArn=role_arn, RoleSessionName="big", Tags=big),
           status=400, code="PackedPolicyTooLarge")

    # The AWS CLI passes tags and transitive keys too.
    code, out, err = berth.aws(
        "sts", "assume-role", "--role-arn", role_arn, "--role-session-name", "cli",
        "--tags", "Key=team,Value=blue", "Key=env,Value=dev", "--transitive-tag-keys", "env", creds=alice,
    )
    assert code == 0, err
    assert 0 < json.loads(out)["PackedPolicySize"] <= 100
    code, out, err = berth.aws(
        "sts", "assume-role", "--role-arn", role_arn, "--role-session-name", "cli",
        "--tags", "Key=team,Value=blue", "--transitive-tag-keys", "env", creds=alice,
    )
    assert code != 0
    assert "(InvalidParameterValue)" in err, err
    assert "The specified transitive tag key must be included in the requested tags." in err, err


def test_tag_requests_are_checked_and_keys_reach_the_trust_policy(berth):
    alice = user_creds(berth, "alice", allow("sts:AssumeRole"))
    iam = berth.client("iam")
    # Tags are allowed only with project=berth and keys among project and team.
    doc = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "sts:TagSession", "Condition": {
            "StringEquals": {"aws:RequestTag/project": "berth"},
            "ForAllValues:StringEquals": {"aws:TagKeys": ["project", "team"],
                                          "sts:TransitiveTagKeys": ["project"]},
        }},
    ]}
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(doc))
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/r"
    sts = berth.client("sts", creds=alice)
    tag_session = f"User: {ALICE} is not authorized to perform: sts:TagSession on resource: {role_arn}"
    ok = [{"Key": "project", "Value": "berth"}, {"Key": "team", "Value": "a"}]
    assert sts.assume_role(RoleArn=role_arn, RoleSessionName="s1", Tags=ok, TransitiveTagKeys=["project"])
    denied(lambda: sts.assume_role(RoleArn=role_arn, RoleSessionName="s1",
                                   Tags=[{"Key": "project", "Value": "other"}]), message=tag_session)
    denied(lambda: sts.assume_role(RoleArn=role_arn, RoleSessionName="s1",
                                   Tags=ok + [{"Key": "cost", "Value": "1"}]), message=tag_session)
    denied(lambda: sts.assume_role(RoleArn=role_arn, RoleSessionName="s1", Tags=ok, TransitiveTagKeys=["team"]),
           message=tag_session)

    # AWS's checks of the tags themselves.
    denied(lambda: sts.assume_role(RoleArn=role_arn, RoleSessionName="s1", Tags=ok, TransitiveTagKeys=["other"]),
           status=400, code="InvalidParameterValue",
           message="The specified transitive tag key must be included in the requested tags.")
    denied(lambda: sts.assume_role(RoleArn=role_arn, RoleSessionName="s1",
                                   Tags=[{"Key": "Team", "Value": "a"}, {"Key": "team", "Value": "b"}]),
           status=400, code="InvalidParameterValue",
           message="Duplicate tag keys found. Please note that Tag keys are case insensitive.")
    denied(lambda: sts.assume_role(RoleArn=role_arn, RoleSessionName="s1",
                                   Tags=[{"Key": "bad#key", "Value": "a"}]),
           status=400, code="ValidationError",
           contains="at 'tags.1.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern")


def test_transitive_tags_pass_along_a_chain_and_cannot_be_overridden(berth):
    alice = user_creds(berth, "alice", allow("sts:AssumeRole"))
    iam = berth.client("iam")
    berth.client("secretsmanager").create_secret(Name="db", SecretString="x")
    first_arn = f"arn:aws:iam::{ACCOUNT}:role/first"
    second_arn = f"arn:aws:iam::{ACCOUNT}:role/second"
    iam.create_role(RoleName="first", AssumeRolePolicyDocument=trust(ALICE, ["sts:AssumeRole", "sts:TagSession"]))
    iam.put_role_policy(RoleName="first", PolicyName="p", PolicyDocument=json.dumps(allow("sts:AssumeRole")))
    iam.create_role(RoleName="second",
                    AssumeRolePolicyDocument=trust(first_arn, ["sts:AssumeRole", "sts:TagSession"]))
    # The second role reads the transitive tag, and must not see the other one.
    iam.put_role_policy(RoleName="second", PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "secretsmanager:DescribeSecret", "Resource": "*",
             "Condition": {"StringEquals": {"aws:PrincipalTag/team": "blue"}}},
            {"Effect": "Allow", "Action": "secretsmanager:ListSecrets", "Resource": "*",
             "Condition": {"Null": {"aws:PrincipalTag/env": "false"}}},
        ]}))
    first = session(berth.client("sts", creds=alice).assume_role(
        RoleArn=first_arn, RoleSessionName="one",
        Tags=[{"Key": "team", "Value": "blue"}, {"Key": "env", "Value": "dev"}], TransitiveTagKeys=["team"],
    ))
    sts1 = berth.client("sts", creds=first)
    second = session(sts1.assume_role(RoleArn=second_arn, RoleSessionName="two"))
    sm = berth.client("secretsmanager", creds=second)
    assert sm.describe_secret(SecretId="db")["Name"] == "db"
    denied(lambda: sm.list_secrets(), status=400, code="AccessDeniedException")

    # A chained call may not pass an inherited transitive key again, in any case.
    denied(lambda: sts1.assume_role(RoleArn=second_arn, RoleSessionName="two",
                                    Tags=[{"Key": "TEAM", "Value": "red"}]),
           status=400, code="InvalidParameterValue",
           message="One of the specified transitive tag keys can't be set because it conflicts with a "
                   "transitive tag key from the calling session.")
    # A key that was not transitive may be passed.
    third = session(sts1.assume_role(RoleArn=second_arn, RoleSessionName="three",
                                     Tags=[{"Key": "env", "Value": "prod"}]))
    assert berth.client("secretsmanager", creds=third).list_secrets()["SecretList"]


def test_source_identity_is_set_once_and_kept(berth):
    alice = user_creds(berth, "alice", allow("sts:AssumeRole"))
    iam = berth.client("iam")
    berth.client("secretsmanager").create_secret(Name="db", SecretString="x")
    iam.create_role(RoleName="src", AssumeRolePolicyDocument=trust(
        ALICE, ["sts:AssumeRole", "sts:SetSourceIdentity"],
        {"StringEquals": {"sts:SourceIdentity": "alice"}}))
    iam.put_role_policy(RoleName="src", PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"},
            {"Effect": "Allow", "Action": "secretsmanager:DescribeSecret", "Resource": "*",
             "Condition": {"StringEquals": {"aws:SourceIdentity": "alice"}}},
        ]}))
    src_arn = f"arn:aws:iam::{ACCOUNT}:role/src"
    sts = berth.client("sts", creds=alice)
    # The trust policy requires the source identity alice.
    denied(lambda: sts.assume_role(RoleArn=src_arn, RoleSessionName="s1"),
           message=f"User: {ALICE} is not authorized to perform: sts:AssumeRole on resource: {src_arn}")
    out = sts.assume_role(RoleArn=src_arn, RoleSessionName="s1", SourceIdentity="alice")
    assert out["SourceIdentity"] == "alice"
    s = session(out)
    assert berth.client("secretsmanager", creds=s).describe_secret(SecretId="db")["Name"] == "db"

    # A role whose trust policy lacks sts:SetSourceIdentity refuses it.
    iam.create_role(RoleName="plain", AssumeRolePolicyDocument=trust(ALICE, "sts:AssumeRole"))
    plain = f"arn:aws:iam::{ACCOUNT}:role/plain"
    denied(lambda: sts.assume_role(RoleArn=plain, RoleSessionName="s1", SourceIdentity="alice"),
           message=f"User: {ALICE} is not authorized to perform: sts:SetSourceIdentity on resource: {plain}")

    # A chained session keeps the source identity; it cannot be changed.
    iam.update_assume_role_policy(RoleName="src", PolicyDocument=trust(
        [ALICE, src_arn], ["sts:AssumeRole", "sts:SetSourceIdentity"],
        {"StringEquals": {"sts:SourceIdentity": "alice"}}))
    chained = berth.client("sts", creds=s)
    again = session(chained.assume_role(RoleArn=src_arn, RoleSessionName="again"))
    assert berth.client("secretsmanager", creds=again).describe_secret(SecretId="db")["Name"] == "db"
    denied(lambda: chained.assume_role(RoleArn=src_arn, RoleSessionName="x1", SourceIdentity="mallory"),
           message="the source identity alice of the calling session cannot be changed")


class Mfa:
    """alice's virtual MFA device: codes of increasing time steps, each used once."""

    def __init__(self, berth):
        iam = berth.client("iam")
        d = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice-phone")["VirtualMFADevice"]
        self.serial = d["SerialNumber"]
        self.seed = d["Base32StringSeed"].decode()
        t = int(time.time()) // 30
        iam.enable_mfa_device(UserName="alice", SerialNumber=self.serial,
                              AuthenticationCode1=totp(self.seed, t - 3), AuthenticationCode2=totp(self.seed, t - 2))
        self.last = t - 2

    def code(self) -> str:
        """The code of the next unused step from now on, within one step of now (waits for the
        clock when the next step is further)."""
        deadline = time.time() + 40
        while True:
            now = int(time.time()) // 30
            step = max(now, self.last + 1)
            if step <= now + 1:
                self.last = step
                return totp(self.seed, step)
            assert time.time() < deadline, "no unused time step came"
            time.sleep(0.5)

    def wrong(self) -> str:
        now = int(time.time()) // 30
        near = {totp(self.seed, now + d) for d in range(-2, 3)}
        return next(c for c in ("000000", "111111", "222222", "333333", "444444", "555555") if c not in near)


def test_get_session_token_with_mfa(berth):
    berth.client("secretsmanager").create_secret(Name="db", SecretString="x")
    alice = user_creds(berth, "alice", when("secretsmanager:DescribeSecret",
                                            {"Bool": {"aws:MultiFactorAuthPresent": "true"},
                                             "NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}))
    mfa = Mfa(berth)
    sts = berth.client("sts", creds=alice)
    # The long-term keys and a session without MFA are refused by the policy's condition.
    denied(lambda: berth.client("secretsmanager", creds=alice).describe_secret(SecretId="db"),
           status=400, code="AccessDeniedException")
    no_mfa = session(sts.get_session_token(DurationSeconds=900))
    denied(lambda: berth.client("secretsmanager", creds=no_mfa).describe_secret(SecretId="db"),
           status=400, code="AccessDeniedException")

    code = mfa.code()
    with_mfa = session(sts.get_session_token(DurationSeconds=900, SerialNumber=mfa.serial, TokenCode=code))
    assert berth.client("secretsmanager", creds=with_mfa).describe_secret(SecretId="db")["Name"] == "db"
    # With MFA the session reaches IAM (its policies decide); without, its token is refused there.
    denied(lambda: berth.client("iam", creds=with_mfa).get_user(UserName="alice"),
           contains="is not authorized to perform: iam:GetUser")
    denied(lambda: berth.client("iam", creds=no_mfa).get_user(UserName="alice"), code="InvalidClientTokenId")
    # A code opens one session; a wrong code and another user's device are refused in AWS's words.
    wrong = "MultiFactorAuthentication failed with invalid MFA one time pass code. "
    denied(lambda: sts.get_session_token(SerialNumber=mfa.serial, TokenCode=code), message=wrong)
    denied(lambda: sts.get_session_token(SerialNumber=mfa.serial, TokenCode=mfa.wrong()), message=wrong)
    denied(lambda: sts.get_session_token(SerialNumber=f"arn:aws:iam::{ACCOUNT}:mfa/nobody", TokenCode="123456"),
           message="MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA "
                   "serial number is valid and associated with this user.")

    # The AWS CLI, with the next code.
    rc, out, err = berth.aws("sts", "get-session-token", "--serial-number", mfa.serial,
                             "--token-code", mfa.code(), creds=alice)
    assert rc == 0, err
    c = json.loads(out)["Credentials"]
    cli = Creds(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    assert berth.client("secretsmanager", creds=cli).describe_secret(SecretId="db")["Name"] == "db"


def test_assume_role_with_mfa(berth):
    berth.client("secretsmanager").create_secret(Name="db", SecretString="x")
    alice = user_creds(berth, "alice", allow("sts:AssumeRole"))
    mfa = Mfa(berth)
    iam = berth.client("iam")
    iam.create_role(RoleName="admin", AssumeRolePolicyDocument=trust(
        ALICE, "sts:AssumeRole", {"Bool": {"aws:MultiFactorAuthPresent": "true"}}))
    iam.put_role_policy(RoleName="admin", PolicyName="p", PolicyDocument=json.dumps(
        when("secretsmanager:DescribeSecret", {"Bool": {"aws:MultiFactorAuthPresent": "true"}})))
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/admin"
    sts = berth.client("sts", creds=alice)
    denied(lambda: sts.assume_role(RoleArn=role_arn, RoleSessionName="s1"),
           message=f"User: {ALICE} is not authorized to perform: sts:AssumeRole on resource: {role_arn}")
    denied(lambda: sts.assume_role(RoleArn=role_arn, RoleSessionName="s1", SerialNumber=mfa.serial,
                                   TokenCode=mfa.wrong()),
           message="MultiFactorAuthentication failed with invalid MFA one time pass code. ")
    s = session(sts.assume_role(RoleArn=role_arn, RoleSessionName="s1", SerialNumber=mfa.serial,
                                TokenCode=mfa.code()))
    assert berth.client("secretsmanager", creds=s).describe_secret(SecretId="db")["Name"] == "db"


def test_federated_user_principal_keys(berth):
    berth.client("secretsmanager").create_secret(Name="db", SecretString="x")
    alice = user_creds(berth, "alice", allow(["sts:GetFederationToken", "secretsmanager:*"]))
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "secretsmanager:DescribeSecret", "Resource": "*",
         "Condition": {"StringEquals": {"aws:PrincipalType": "FederatedUser", "aws:userid": f"{ACCOUNT}:fed"}}},
        {"Effect": "Allow", "Action": "secretsmanager:ListSecrets", "Resource": "*",
         "Condition": {"Null": {"aws:username": "false"}}},
    ]})
    fed = session(berth.client("sts", creds=alice).get_federation_token(Name="fed", Policy=policy))
    sm = berth.client("secretsmanager", creds=fed)
    assert sm.describe_secret(SecretId="db")["Name"] == "db"
    # A federated user has no aws:username.
    denied(lambda: sm.list_secrets(), status=400, code="AccessDeniedException")


def test_federation_token_tags(berth):
    # alice (tagged team=red, cost=1) may federate; tags only with team=blue, with sts:TagSession.
    berth.client("secretsmanager").create_secret(Name="db", SecretString="x")
    iam = berth.client("iam")
    alice = user_creds(berth, "alice", allow(["sts:GetFederationToken", "secretsmanager:*"]))
    iam.tag_user(UserName="alice", Tags=[{"Key": "team", "Value": "red"}, {"Key": "cost", "Value": "1"}])
    fed_arn = f"arn:aws:sts::{ACCOUNT}:federated-user/fed"
    # The federation policy lets the federated user describe secrets as team blue of cost 1.
    policy = json.dumps(when("secretsmanager:DescribeSecret", {"StringEquals": {
        "aws:PrincipalTag/team": "blue", "aws:PrincipalTag/cost": "1"}}))
    sts = berth.client("sts", creds=alice)

    def federate(tags):
        return sts.get_federation_token(Name="fed", Policy=policy, Tags=tags)

    # Without sts:TagSession on alice's own policy, tags are refused.
    denied(lambda: federate([{"Key": "team", "Value": "blue"}]),
           contains=f"User: {ALICE} is not authorized to perform: sts:TagSession on resource: {fed_arn}")
    iam.put_user_policy(UserName="alice", PolicyName="tags", PolicyDocument=json.dumps(
        when("sts:TagSession", {"StringEquals": {"aws:RequestTag/team": "blue"}})))

    # Untagged, the federated user has alice's tags: team red.
    plain = federate([])
    assert "PackedPolicySize" in plain
    denied(lambda: berth.client("secretsmanager", creds=session(plain)).describe_secret(SecretId="db"),
           status=400, code="AccessDeniedException")
    # A session tag overrides alice's tag of the same key (in any case); cost=1 stays hers.
    tagged = federate([{"Key": "Team", "Value": "blue"}])
    assert 0 < tagged["PackedPolicySize"] <= 100
    assert tagged["FederatedUser"]["Arn"] == fed_arn
    sm = berth.client("secretsmanager", creds=session(tagged))
    assert sm.describe_secret(SecretId="db")["Name"] == "db"

    # sts:TagSession's conditions see the request's tags.
    denied(lambda: federate([{"Key": "team", "Value": "green"}]), contains="sts:TagSession")
    # AWS's checks of the tags themselves.
    denied(lambda: federate([{"Key": "team", "Value": "blue"}, {"Key": "TEAM", "Value": "blue"}]),
           status=400, code="InvalidParameterValue",
           message="Duplicate tag keys found. Please note that Tag keys are case insensitive.")
    denied(lambda: federate([{"Key": "bad#key", "Value": "a"}]), status=400, code="ValidationError",
           contains="at 'tags.1.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern")
    big = [{"Key": "team" if i == 0 else f"k{i:02d}" + "x" * 100, "Value": "blue" if i == 0 else "v" * 200}
           for i in range(50)]
    denied(lambda: federate(big), status=400, code="PackedPolicyTooLarge")
    denied(lambda: federate(big + [{"Key": "one-more", "Value": "v"}]), status=400, code="ValidationError",
           contains="Member must have length less than or equal to 50")

    # The AWS CLI passes tags too.
    code, out, err = berth.aws(
        "sts", "get-federation-token", "--name", "fed", "--policy", policy,
        "--tags", "Key=team,Value=blue", "--output", "json", creds=alice,
    )
    assert code == 0, err
    assert 0 < json.loads(out)["PackedPolicySize"] <= 100
    code, out, err = berth.aws(
        "sts", "get-federation-token", "--name", "fed", "--tags", "Key=team,Value=green", creds=alice,
    )
    assert code != 0
    assert "sts:TagSession" in err, err


def test_a_users_own_tags_are_its_principal_tags(berth):
    # An IAM user's tags are `aws:PrincipalTag/<key>` in its own requests and in a role's trust
    # policy; a change to them counts from the next request.
    alice = user_creds(berth, "alice", when(["secretsmanager:DescribeSecret", "sts:AssumeRole"],
                                            {"StringEquals": {"aws:PrincipalTag/team": "blue"}}))
    iam = berth.client("iam")
    berth.client("secretsmanager").create_secret(Name="tagged", SecretString="x")
    sm = berth.client("secretsmanager", creds=alice)
    denied(lambda: sm.describe_secret(SecretId="tagged"), status=400, code="AccessDeniedException")

    iam.tag_user(UserName="alice", Tags=[{"Key": "team", "Value": "blue"}])
    assert sm.describe_secret(SecretId="tagged")["Name"] == "tagged"

    iam.create_role(RoleName="blue-only", AssumeRolePolicyDocument=trust(
        ALICE, "sts:AssumeRole", {"StringEquals": {"aws:PrincipalTag/team": "blue"}}))
    sts = berth.client("sts", creds=alice)
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/blue-only"
    assert sts.assume_role(RoleArn=role_arn, RoleSessionName="s1")["AssumedRoleUser"]["Arn"].endswith(
        "assumed-role/blue-only/s1")

    iam.tag_user(UserName="alice", Tags=[{"Key": "team", "Value": "red"}])
    denied(lambda: sm.describe_secret(SecretId="tagged"), status=400, code="AccessDeniedException")
    iam.untag_user(UserName="alice", TagKeys=["team"])
    denied(lambda: sm.describe_secret(SecretId="tagged"), status=400, code="AccessDeniedException")
    denied(lambda: sts.assume_role(RoleArn=role_arn, RoleSessionName="s1"),
           contains="is not authorized to perform: sts:AssumeRole")
