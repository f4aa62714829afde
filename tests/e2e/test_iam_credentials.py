"""A user's other credentials, end to end: console passwords (login profiles, ChangePassword, the
account's password policy), signing in to the console with one over HTTP, and virtual MFA
devices enabled with real TOTP codes — with boto3 and the AWS CLI."""

import base64
import hashlib
import html
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from botocore.exceptions import ClientError

from conftest import REGION, error_code, error_message, store_bytes
from helpers import allow, raw_client, totp, user_creds

ACCOUNT = "000000000000"
GOOD = "Str0ng-Passw0rd!"


def expect_error(call, code, message=None, status=None, **kwargs):
    with pytest.raises(ClientError) as e:
        call(**kwargs)
    assert error_code(e.value) == code, e.value.response
    if message is not None:
        assert error_message(e.value) == message, e.value.response
    if status is not None:
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    return e.value


# --- login profiles and the password policy -------------------------------------------------


def test_login_profile_lifecycle_under_the_password_policy(berth):
    iam = berth.client("iam")
    iam.create_user(UserName="ann")
    expect_error(
        iam.get_login_profile, "NoSuchEntity", "Login Profile for User ann cannot be found.", 404, UserName="ann"
    )
    # AWS's default policy (no custom one): at least 8 characters.
    expect_error(
        iam.create_login_profile, "PasswordPolicyViolation", "Password should have a minimum length of 8", 400,
        UserName="ann", Password="Ab1!",
    )
    p = iam.create_login_profile(UserName="ann", Password=GOOD, PasswordResetRequired=True)["LoginProfile"]
    assert p["UserName"] == "ann" and p["PasswordResetRequired"] is True and "CreateDate" in p
    got = iam.get_login_profile(UserName="ANN")["LoginProfile"]
    assert got["UserName"] == "ann" and got["CreateDate"] == p["CreateDate"]
    assert "Password" not in got
    expect_error(
        iam.create_login_profile, "EntityAlreadyExists", "Login Profile for user ann already exists.", 409,
        UserName="ann", Password=GOOD,
    )
    expect_error(
        iam.delete_user, "DeleteConflict", "Cannot delete entity, must delete login profile first.", 409,
        UserName="ann",
    )

    expect_error(
        iam.get_account_password_policy, "NoSuchEntity",
        f"The Password Policy with domain name {ACCOUNT} cannot be found.", 404,
    )
    iam.update_account_password_policy(
        MinimumPasswordLength=12, RequireSymbols=True, RequireUppercaseCharacters=True, MaxPasswordAge=90,
        PasswordReusePrevention=3, AllowUsersToChangePassword=True,
    )
    policy = iam.get_account_password_policy()["PasswordPolicy"]
    assert policy["MinimumPasswordLength"] == 12
    assert policy["RequireSymbols"] is True and policy["RequireNumbers"] is False
    assert policy["RequireUppercaseCharacters"] is True and policy["RequireLowercaseCharacters"] is False
    assert policy["AllowUsersToChangePassword"] is True
    assert policy["ExpirePasswords"] is True and policy["MaxPasswordAge"] == 90
    assert policy["PasswordReusePrevention"] == 3
    expect_error(
        iam.update_login_profile, "PasswordPolicyViolation", "Password should have a minimum length of 12", 400,
        UserName="ann", Password="Sh0rt!",
    )
    expect_error(
        iam.update_login_profile, "PasswordPolicyViolation", "Password should have at least one uppercase letter",
        400, UserName="ann", Password="no-uppercase-here1",
    )
    # The current password cannot come back while reuse prevention remembers it.
    expect_error(iam.update_login_profile, "PasswordPolicyViolation", None, 400, UserName="ann", Password=GOOD)
    iam.update_login_profile(UserName="ann", Password="An0ther-Passw0rd!", PasswordResetRequired=False)
    assert iam.get_login_profile(UserName="ann")["LoginProfile"]["PasswordResetRequired"] is False

    # The model's constraints, in AWS's words.
    raw = raw_client(berth, "iam")
    e = expect_error(raw.update_account_password_policy, "ValidationError", None, 400, MinimumPasswordLength=5)
    assert error_message(e) == (
        "1 validation error detected: Value at 'minimumPasswordLength' failed to satisfy constraint: "
        "Member must have value greater than or equal to 6"
    )
    # A policy update sets every member it is not given back to its default.
    iam.update_account_password_policy(RequireNumbers=True)
    policy = iam.get_account_password_policy()["PasswordPolicy"]
    assert policy["MinimumPasswordLength"] == 6 and policy["RequireSymbols"] is False
    assert policy["ExpirePasswords"] is False and "MaxPasswordAge" not in policy
    iam.delete_account_password_policy()
    expect_error(iam.delete_account_password_policy, "NoSuchEntity", None, 404)

    iam.delete_login_profile(UserName="ann")
    expect_error(iam.delete_login_profile, "NoSuchEntity", None, 404, UserName="ann")
    iam.delete_user(UserName="ann")
    # The password never reaches the log.
    assert GOOD not in berth.log()


def test_change_password_is_the_callers_own(berth):
    iam = berth.client("iam")
    creds = user_creds(berth, "bo")
    bo = berth.client("iam", creds=creds)
    iam.create_login_profile(UserName="bo", Password=GOOD, PasswordResetRequired=True)
    # No password policy letting users change their own, no identity policy: denied.
    e = expect_error(bo.change_password, "AccessDenied", None, 403, OldPassword=GOOD, NewPassword="N3w-Passw0rd!")
    assert f"iam:ChangePassword on resource: arn:aws:iam::{ACCOUNT}:user/bo" in error_message(e)
    # AllowUsersToChangePassword grants it.
    iam.update_account_password_policy(AllowUsersToChangePassword=True, MinimumPasswordLength=10)
    expect_error(
        bo.change_password, "AccessDenied", "The old password was incorrect.", 403,
        OldPassword="wrong-one", NewPassword="N3w-Passw0rd!",
    )
    expect_error(
        bo.change_password, "PasswordPolicyViolation", "Password should have a minimum length of 10", 400,
        OldPassword=GOOD, NewPassword="short",
    )
    bo.change_password(OldPassword=GOOD, NewPassword="N3w-Passw0rd!")
    assert iam.get_login_profile(UserName="bo")["LoginProfile"]["PasswordResetRequired"] is False
    # The root user has no IAM password to change.
    expect_error(iam.change_password, "InvalidUserType", None, 400, OldPassword="x", NewPassword="y")


def test_login_profile_calls_are_authorised_on_the_user(berth):
    creds = user_creds(berth, "eve", allow("iam:GetLoginProfile", f"arn:aws:iam::{ACCOUNT}:user/eve"))
    berth.client("iam").create_user(UserName="victim", Path="/staff/")
    eve = berth.client("iam", creds=creds)
    e = expect_error(eve.create_login_profile, "AccessDenied", None, 403, UserName="victim", Password=GOOD)
    assert error_message(e) == (
        f"User: arn:aws:iam::{ACCOUNT}:user/eve is not authorized to perform: iam:CreateLoginProfile on resource: "
        f"arn:aws:iam::{ACCOUNT}:user/staff/victim because no identity-based policy allows the "
        "iam:CreateLoginProfile action"
    )
    expect_error(eve.get_account_password_policy, "AccessDenied", None, 403)
    # Her own profile: allowed to look, and there is none.
    expect_error(eve.get_login_profile, "NoSuchEntity", "Login Profile for User eve cannot be found.", 404)


def test_cli_login_profile_and_policy(berth):
    berth.aws("iam", "create-user", "--user-name", "cli-user", check=True)
    _, out, _ = berth.aws(
        "iam", "create-login-profile", "--user-name", "cli-user", "--password", GOOD,
        "--password-reset-required", check=True,
    )
    assert json.loads(out)["LoginProfile"]["PasswordResetRequired"] is True
    code, _, err = berth.aws("iam", "get-account-password-policy")
    assert code in (254, 255)
    assert (
        "An error occurred (NoSuchEntity) when calling the GetAccountPasswordPolicy operation: "
        f"The Password Policy with domain name {ACCOUNT} cannot be found." in err
    )
    berth.aws("iam", "update-account-password-policy", "--minimum-password-length", "20", check=True)
    code, _, err = berth.aws("iam", "update-login-profile", "--user-name", "cli-user", "--password", GOOD)
    assert code in (254, 255)
    assert "(PasswordPolicyViolation) when calling the UpdateLoginProfile operation: " \
           "Password should have a minimum length of 20" in err


# --- the console, signed in with a password -------------------------------------------------


class Browser:
    """A cookie jar and no redirects: enough of a browser for the sign-in forms."""

    def __init__(self, berth):
        self.berth = berth
        self.cookies = {}

    def _send(self, req):
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *a, **k):
                return None

        if self.cookies:
            req.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        try:
            with urllib.request.build_opener(NoRedirect).open(req, timeout=30) as r:
                status, headers, body = r.status, r.headers, r.read().decode()
        except urllib.error.HTTPError as e:
            status, headers, body = e.code, e.headers, e.read().decode()
        for c in headers.get_all("Set-Cookie") or []:
            name, value = c.split(";")[0].split("=", 1)
            if "Max-Age=0" in c or value == "":
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return status, headers, body

    def get(self, path):
        return self._send(urllib.request.Request(self.berth.endpoint + path))

    def post(self, path, form):
        data = urllib.parse.urlencode(form).encode()
        req = urllib.request.Request(
            self.berth.endpoint + path, data=data, method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        return self._send(req)

    def sign_in(self, account, user, password):
        status, _, page = self.get("/console/signin")
        assert status == 200 and "/console/signin/password" in page
        token = re.search(r'action="/console/signin/password"><input type="hidden" name="signin" value="([0-9a-f]{64})"',
                          page).group(1)
        return self.post("/console/signin/password", {
            "signin": token, "account": account, "user_name": user, "password": password, "region": REGION,
        })


def test_console_sign_in_with_a_password(berth):
    iam = berth.client("iam")
    iam.create_user(UserName="carla", Path="/ops/")
    iam.put_user_policy(UserName="carla", PolicyName="p", PolicyDocument=json.dumps(allow("ecs:ListClusters")))
    iam.create_login_profile(UserName="carla", Password=GOOD, PasswordResetRequired=True)

    b = Browser(berth)
    status, _, page = b.sign_in(ACCOUNT, "carla", GOOD)
    assert status == 401 and "must set a new password first" in html.unescape(page)
    assert "berth_console" not in b.cookies
    iam.update_login_profile(UserName="carla", PasswordResetRequired=False)

    status, _, page = b.sign_in(ACCOUNT, "carla", GOOD + "x")
    assert status == 401 and "the account, IAM user name or password is not valid" in html.unescape(page)
    status, _, page = b.sign_in(ACCOUNT, "nobody", GOOD)
    assert status == 401 and "is not valid" in page

    status, headers, _ = b.sign_in(ACCOUNT, "carla", GOOD)
    assert status == 303 and headers["Location"] == "/console"
    assert len(b.cookies["berth_console"]) == 64 and GOOD not in b.cookies["berth_console"]
    status, _, page = b.get("/console")
    assert status == 200
    assert f"Signed in as arn:aws:iam::{ACCOUNT}:user/ops/carla" in page
    # The session acts as carla, with carla's policies: clusters yes, secrets no.
    status, _, _ = b.get("/console/clusters")
    assert status == 200
    status, _, page = b.get("/console/secrets")
    assert status == 403 and "secretsmanager:ListSecrets" in page

    # The account's alias works as well as its id.
    iam.create_account_alias(AccountAlias="acme-dev")
    other = Browser(berth)
    status, _, _ = other.sign_in("acme-dev", "carla", GOOD)
    assert status == 303
    assert other.get("/console")[0] == 200

    # Without a login profile, the sessions end on their next request.
    iam.delete_login_profile(UserName="carla")
    status, headers, _ = b.get("/console")
    assert status == 303 and headers["Location"] == "/console/signin"
    assert other.get("/console")[0] == 303
    assert GOOD not in berth.log()


# --- MFA devices ------------------------------------------------------------------------------


def test_virtual_mfa_device_lifecycle(berth):
    iam = berth.client("iam")
    iam.create_user(UserName="max")
    d = iam.create_virtual_mfa_device(VirtualMFADeviceName="max-phone", Tags=[{"Key": "team", "Value": "a"}])[
        "VirtualMFADevice"
    ]
    serial = d["SerialNumber"]
    assert serial == f"arn:aws:iam::{ACCOUNT}:mfa/max-phone"
    seed = d["Base32StringSeed"].decode()
    assert re.fullmatch(r"[A-Z2-7]{64}", seed)
    assert d["QRCodePNG"].startswith(b"\x89PNG\r\n\x1a\n")
    expect_error(
        iam.create_virtual_mfa_device, "EntityAlreadyExists",
        "MFADevice entity at the same path and name already exists.", 409, VirtualMFADeviceName="max-phone",
    )
    unassigned = iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"]
    assert [x["SerialNumber"] for x in unassigned] == [serial]
    assert "Base32StringSeed" not in unassigned[0]

    t = int(time.time()) // 30
    expect_error(
        iam.enable_mfa_device, "InvalidAuthenticationCode", None, 403,
        UserName="max", SerialNumber=serial, AuthenticationCode1=totp(seed, t), AuthenticationCode2=totp(seed, t + 5),
    )
    iam.enable_mfa_device(
        UserName="max", SerialNumber=serial, AuthenticationCode1=totp(seed, t), AuthenticationCode2=totp(seed, t + 1),
    )
    devices = iam.list_mfa_devices(UserName="max")["MFADevices"]
    assert [(x["UserName"], x["SerialNumber"]) for x in devices] == [("max", serial)]
    assigned = iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"]
    assert assigned[0]["User"]["UserName"] == "max" and "EnableDate" in assigned[0]
    assert iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"] == []
    got = iam.get_mfa_device(SerialNumber=serial)
    assert got["UserName"] == "max" and got["SerialNumber"] == serial
    iam.resync_mfa_device(
        UserName="max", SerialNumber=serial, AuthenticationCode1=totp(seed, t + 40),
        AuthenticationCode2=totp(seed, t + 41),
    )

    iam.tag_mfa_device(SerialNumber=serial, Tags=[{"Key": "k", "Value": "v"}])
    iam.untag_mfa_device(SerialNumber=serial, TagKeys=["team"])
    assert iam.list_mfa_device_tags(SerialNumber=serial)["Tags"] == [{"Key": "k", "Value": "v"}]

    expect_error(
        iam.delete_virtual_mfa_device, "DeleteConflict", "MFA VirtualDevice in use. Must deactivate first.", 409,
        SerialNumber=serial,
    )
    expect_error(
        iam.delete_user, "DeleteConflict", "Cannot delete entity, must remove MFA device first.", 409, UserName="max"
    )
    iam.deactivate_mfa_device(UserName="max", SerialNumber=serial)
    assert iam.list_mfa_devices(UserName="max")["MFADevices"] == []
    expect_error(iam.get_mfa_device, "NoSuchEntity", None, 404, SerialNumber=serial)
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    expect_error(
        iam.delete_virtual_mfa_device, "NoSuchEntity", f"VirtualMFADevice with serial number {serial} doesn't exist.",
        404, SerialNumber=serial,
    )
    iam.delete_user(UserName="max")
    # The seed is sealed at rest: it is nowhere in the log or the database in the clear.
    assert seed not in berth.log()
    assert seed.encode() not in store_bytes(berth.data_dir)


def test_cli_virtual_mfa_device_with_its_seed_file(berth, tmp_path):
    out_file = tmp_path / "seed.txt"
    _, out, _ = berth.aws(
        "iam", "create-virtual-mfa-device", "--virtual-mfa-device-name", "cli-phone", "--outfile", str(out_file),
        "--bootstrap-method", "Base32StringSeed", check=True,
    )
    serial = json.loads(out)["VirtualMFADevice"]["SerialNumber"]
    seed = out_file.read_text()
    assert re.fullmatch(r"[A-Z2-7]{64}", seed)
    berth.aws("iam", "create-user", "--user-name", "cli-mfa", check=True)
    t = int(time.time()) // 30
    berth.aws(
        "iam", "enable-mfa-device", "--user-name", "cli-mfa", "--serial-number", serial,
        "--authentication-code1", totp(seed, t), "--authentication-code2", totp(seed, t + 1), check=True,
    )
    _, out, _ = berth.aws("iam", "list-mfa-devices", "--user-name", "cli-mfa", check=True)
    assert [d["SerialNumber"] for d in json.loads(out)["MFADevices"]] == [serial]
    png = tmp_path / "qr.png"
    berth.aws(
        "iam", "create-virtual-mfa-device", "--virtual-mfa-device-name", "cli-qr", "--outfile", str(png),
        "--bootstrap-method", "QRCodePNG", check=True,
    )
    assert png.read_bytes().startswith(b"\x89PNG")


# --- SSH keys, certificates, service-specific credentials ----------------------------------

def rsa_key():
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def ssh_public(key):
    from cryptography.hazmat.primitives import serialization

    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def md5_fingerprint(openssh: str) -> str:
    blob = base64.b64decode(openssh.split()[1])
    return ":".join(f"{b:02x}" for b in hashlib.md5(blob).digest())


def self_signed(key, cn="berth.test", days=30):
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days)).sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), cert.not_valid_after_utc


def private_pem(key):
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_ssh_public_keys(berth):
    iam = berth.client("iam")
    iam.create_user(UserName="sam")
    body = ssh_public(rsa_key()) + " sam@laptop"
    k = iam.upload_ssh_public_key(UserName="sam", SSHPublicKeyBody=body)["SSHPublicKey"]
    assert k["SSHPublicKeyId"].startswith("APKA") and len(k["SSHPublicKeyId"]) == 21
    assert k["Fingerprint"] == md5_fingerprint(body)
    assert k["Status"] == "Active" and k["SSHPublicKeyBody"] == body
    expect_error(iam.upload_ssh_public_key, "DuplicateSSHPublicKey", None, 400, UserName="sam", SSHPublicKeyBody=body)
    expect_error(
        iam.upload_ssh_public_key, "UnrecognizedPublicKeyEncoding", None, 400, UserName="sam",
        SSHPublicKeyBody="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl x",
    )
    pem = iam.get_ssh_public_key(UserName="sam", SSHPublicKeyId=k["SSHPublicKeyId"], Encoding="PEM")["SSHPublicKey"]
    assert pem["SSHPublicKeyBody"].startswith("-----BEGIN PUBLIC KEY-----")
    ssh = iam.get_ssh_public_key(UserName="sam", SSHPublicKeyId=k["SSHPublicKeyId"], Encoding="SSH")["SSHPublicKey"]
    assert ssh["SSHPublicKeyBody"] == body.rsplit(" ", 1)[0]
    iam.update_ssh_public_key(UserName="sam", SSHPublicKeyId=k["SSHPublicKeyId"], Status="Inactive")
    listed = iam.list_ssh_public_keys(UserName="sam")["SSHPublicKeys"]
    assert [(x["SSHPublicKeyId"], x["Status"]) for x in listed] == [(k["SSHPublicKeyId"], "Inactive")]
    expect_error(iam.delete_user, "DeleteConflict", None, 409, UserName="sam")
    iam.delete_ssh_public_key(UserName="sam", SSHPublicKeyId=k["SSHPublicKeyId"])
    expect_error(
        iam.get_ssh_public_key, "NoSuchEntity", None, 404, UserName="sam", SSHPublicKeyId=k["SSHPublicKeyId"],
        Encoding="SSH",
    )
    iam.delete_user(UserName="sam")


def test_signing_and_server_certificates(berth):
    iam = berth.client("iam")
    iam.create_user(UserName="cert-user")
    key = rsa_key()
    cert_pem, not_after = self_signed(key)
    c = iam.upload_signing_certificate(UserName="cert-user", CertificateBody=cert_pem)["Certificate"]
    assert c["UserName"] == "cert-user" and c["Status"] == "Active" and len(c["CertificateId"]) >= 24
    expect_error(
        iam.upload_signing_certificate, "DuplicateCertificate", None, 409, UserName="cert-user",
        CertificateBody=cert_pem,
    )
    expect_error(
        iam.upload_signing_certificate, "MalformedCertificate",
        "Unable to parse certificate. Please ensure the certificate is in PEM format.", 400,
        UserName="cert-user", CertificateBody="not a certificate",
    )
    iam.update_signing_certificate(UserName="cert-user", CertificateId=c["CertificateId"], Status="Inactive")
    listed = iam.list_signing_certificates(UserName="cert-user")["Certificates"]
    assert [(x["CertificateId"], x["Status"]) for x in listed] == [(c["CertificateId"], "Inactive")]
    iam.delete_signing_certificate(UserName="cert-user", CertificateId=c["CertificateId"])
    assert iam.list_signing_certificates(UserName="cert-user")["Certificates"] == []

    private = private_pem(key)
    expect_error(
        iam.upload_server_certificate, "KeyPairMismatch", None, 400, ServerCertificateName="web",
        CertificateBody=cert_pem, PrivateKey=private_pem(rsa_key()),
    )
    up = iam.upload_server_certificate(
        ServerCertificateName="web", Path="/cloudfront/", CertificateBody=cert_pem, PrivateKey=private,
        Tags=[{"Key": "env", "Value": "dev"}],
    )
    meta = up["ServerCertificateMetadata"]
    assert meta["Arn"] == f"arn:aws:iam::{ACCOUNT}:server-certificate/cloudfront/web"
    assert meta["ServerCertificateId"].startswith("ASCA")
    assert meta["Expiration"].replace(microsecond=0) == not_after.replace(microsecond=0)
    assert up["Tags"] == [{"Key": "env", "Value": "dev"}]
    expect_error(
        iam.upload_server_certificate, "EntityAlreadyExists", "The Server Certificate with name WEB already exists.",
        409, ServerCertificateName="WEB", CertificateBody=cert_pem, PrivateKey=private,
    )
    got = iam.get_server_certificate(ServerCertificateName="web")["ServerCertificate"]
    assert got["CertificateBody"].strip() == cert_pem.strip()
    assert "PrivateKey" not in got
    assert [m["ServerCertificateName"] for m in iam.list_server_certificates(PathPrefix="/cloudfront/")[
        "ServerCertificateMetadataList"]] == ["web"]
    iam.tag_server_certificate(ServerCertificateName="web", Tags=[{"Key": "k", "Value": "v"}])
    iam.untag_server_certificate(ServerCertificateName="web", TagKeys=["env"])
    assert iam.list_server_certificate_tags(ServerCertificateName="web")["Tags"] == [{"Key": "k", "Value": "v"}]
    iam.update_server_certificate(ServerCertificateName="web", NewServerCertificateName="web2", NewPath="/")
    assert iam.get_server_certificate(ServerCertificateName="web2")["ServerCertificate"][
        "ServerCertificateMetadata"]["Arn"] == f"arn:aws:iam::{ACCOUNT}:server-certificate/web2"
    iam.delete_server_certificate(ServerCertificateName="web2")
    expect_error(
        iam.get_server_certificate, "NoSuchEntity", "The Server Certificate with name web2 cannot be found.", 404,
        ServerCertificateName="web2",
    )
    # The private key is sealed at rest and never logged.
    secret_line = private.splitlines()[5]
    assert secret_line not in berth.log()
    assert secret_line.encode() not in store_bytes(berth.data_dir)


def test_service_specific_credentials(berth):
    iam = berth.client("iam")
    iam.create_user(UserName="git")
    c = iam.create_service_specific_credential(UserName="git", ServiceName="codecommit.amazonaws.com")[
        "ServiceSpecificCredential"
    ]
    assert c["ServiceUserName"] == f"git-at-{ACCOUNT}" and c["Status"] == "Active"
    assert c["ServiceSpecificCredentialId"].startswith("ACCA") and len(c["ServicePassword"]) >= 40
    expect_error(
        iam.create_service_specific_credential, "NotSupportedService", None, 404, UserName="git",
        ServiceName="s3.amazonaws.com",
    )
    listed = iam.list_service_specific_credentials(UserName="git")["ServiceSpecificCredentials"]
    assert [x["ServiceSpecificCredentialId"] for x in listed] == [c["ServiceSpecificCredentialId"]]
    assert "ServicePassword" not in listed[0]
    assert iam.list_service_specific_credentials(ServiceName="cassandra.amazonaws.com", UserName="git")[
        "ServiceSpecificCredentials"] == []
    reset = iam.reset_service_specific_credential(
        UserName="git", ServiceSpecificCredentialId=c["ServiceSpecificCredentialId"]
    )["ServiceSpecificCredential"]
    assert reset["ServicePassword"] != c["ServicePassword"]
    iam.update_service_specific_credential(
        UserName="git", ServiceSpecificCredentialId=c["ServiceSpecificCredentialId"], Status="Inactive"
    )
    iam.create_service_specific_credential(UserName="git", ServiceName="codecommit.amazonaws.com")
    expect_error(
        iam.create_service_specific_credential, "LimitExceeded",
        "Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: 2", 409,
        UserName="git", ServiceName="codecommit.amazonaws.com",
    )
    everyone = iam.list_service_specific_credentials(AllUsers=True)["ServiceSpecificCredentials"]
    assert len(everyone) == 2 and {x["Status"] for x in everyone} == {"Active", "Inactive"}
    expect_error(iam.delete_user, "DeleteConflict", None, 409, UserName="git")
    for x in everyone:
        iam.delete_service_specific_credential(UserName="git", ServiceSpecificCredentialId=x["ServiceSpecificCredentialId"])
    iam.delete_user(UserName="git")
    assert c["ServicePassword"] not in berth.log()


def test_cli_ssh_key_and_server_certificate(berth, tmp_path):
    berth.aws("iam", "create-user", "--user-name", "cli-ssh", check=True)
    body = ssh_public(rsa_key())
    _, out, _ = berth.aws("iam", "upload-ssh-public-key", "--user-name", "cli-ssh", "--ssh-public-key-body", body,
                          check=True)
    assert json.loads(out)["SSHPublicKey"]["Fingerprint"] == md5_fingerprint(body)
    key = rsa_key()
    cert_pem, _ = self_signed(key)
    (tmp_path / "cert.pem").write_text(cert_pem)
    (tmp_path / "key.pem").write_text(private_pem(key))
    _, out, _ = berth.aws(
        "iam", "upload-server-certificate", "--server-certificate-name", "cli-cert",
        "--certificate-body", f"file://{tmp_path / 'cert.pem'}", "--private-key", f"file://{tmp_path / 'key.pem'}",
        check=True,
    )
    assert json.loads(out)["ServerCertificateMetadata"]["ServerCertificateName"] == "cli-cert"
    code, _, err = berth.aws("iam", "get-server-certificate", "--server-certificate-name", "missing")
    assert code in (254, 255)
    assert "(NoSuchEntity) when calling the GetServerCertificate operation: " \
           "The Server Certificate with name missing cannot be found." in err


# --- the credential report and the account ------------------------------------------------


def test_credential_report(berth):
    iam = berth.client("iam")
    expect_error(iam.get_credential_report, "ReportNotPresent", None, 410)
    iam.create_user(UserName="rita")
    iam.create_access_key(UserName="rita")
    iam.create_login_profile(UserName="rita", Password=GOOD)
    assert iam.generate_credential_report()["State"] == "COMPLETE"
    got = iam.get_credential_report()
    assert got["ReportFormat"] == "text/csv" and "GeneratedTime" in got
    rows = got["Content"].decode().splitlines()
    header = rows[0].split(",")
    assert header[:8] == ["user", "arn", "user_creation_time", "password_enabled", "password_last_used",
                          "password_last_changed", "password_next_rotation", "mfa_active"]
    assert header[-4:] == ["cert_1_active", "cert_1_last_rotated", "cert_2_active", "cert_2_last_rotated"]
    by_user = {r.split(",")[0]: dict(zip(header, r.split(","))) for r in rows[1:]}
    assert by_user["<root_account>"]["arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    rita = by_user["rita"]
    assert rita["arn"] == f"arn:aws:iam::{ACCOUNT}:user/rita"
    assert rita["password_enabled"] == "true" and rita["access_key_1_active"] == "true"
    assert rita["access_key_2_active"] == "false" and rita["mfa_active"] == "false"
    assert rita["user_creation_time"].endswith("+00:00")
    # A report younger than four hours is kept.
    iam.create_user(UserName="later")
    iam.generate_credential_report()
    assert "later" not in iam.get_credential_report()["Content"].decode()
    _, out, _ = berth.aws("iam", "get-credential-report", check=True)
    assert base64.b64decode(json.loads(out)["Content"]).decode().startswith("user,arn,")


def query(berth, action, **params):
    """An IAM Query call signed as root, for operations newer than the installed botocore."""
    body = urllib.parse.urlencode({"Action": action, "Version": "2010-05-08", **params}).encode()
    status, _, raw = berth.raw(
        body=body, headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        sign=("iam", "us-east-1"),
    )
    return status, raw.decode()


def test_account_wide_answers_of_an_account_without_them(berth):
    iam = berth.client("iam")
    status, text = query(berth, "GetAccountProperties")
    assert status == 200 and "<Properties></Properties>" in text
    for call in (iam.list_organizations_features, iam.enable_organizations_root_sessions,
                 iam.disable_organizations_root_credentials_management):
        expect_error(call, "OrganizationNotFoundException", None, 400)
    expect_error(iam.get_outbound_web_identity_federation_info, "FeatureDisabled", None, 404)
    assert iam.list_delegation_requests()["DelegationRequests"] == []
    expect_error(iam.get_delegation_request, "NoSuchEntity", None, 404, DelegationRequestId="dr-0123456789abcdef")
    expect_error(iam.accept_delegation_request, "NoSuchEntity", None, 404, DelegationRequestId="dr-0123456789abcdef")
    status, text = query(berth, "GetRoleTemplateVersion", TemplateArn="arn:aws:iam::aws:role-template/example")
    assert status == 404 and "<Code>NoSuchEntity</Code>" in text
    # Authorised like everything else.
    creds = user_creds(berth, "nobody-special")
    denied = berth.client("iam", creds=creds)
    expect_error(denied.generate_credential_report, "AccessDenied", None, 403)
    expect_error(denied.list_organizations_features, "AccessDenied", None, 403)
