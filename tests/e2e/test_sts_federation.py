"""STS federation: AssumeRoleWithWebIdentity against a loopback HTTPS OpenID Connect issuer
(discovery + JWKS, a test CA berth trusts through AWS_CA_BUNDLE), tokens signed here with
RS256 and ES256; AssumeRoleWithSAML's refusals; the rest of STS's model answered."""

import base64
import datetime
import http.server
import json
import ssl
import threading
import time
import urllib.parse

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from conftest import REGION, Creds, error_code, error_message
from helpers import allow, query_action, unanswered_operations

ACCOUNT = "000000000000"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def uint(n: int) -> str:
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


class Issuer:
    """A loopback HTTPS OIDC issuer with an RSA and a P-256 signing key."""

    def __init__(self, tmp_path):
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.ca_path, cert_path, key_path = self._certificates(tmp_path)
        self.hits = 0
        issuer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                issuer.hits += 1
                if self.path == "/tenant/.well-known/openid-configuration":
                    body = {"issuer": issuer.url, "jwks_uri": issuer.url + "/keys"}
                elif self.path == "/tenant/keys":
                    body = issuer.jwks()
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                raw = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert_path, key_path)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.host_path = f"127.0.0.1:{self.port}/tenant"
        self.url = f"https://{self.host_path}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _certificates(self, tmp_path):
        now = datetime.datetime.now(datetime.timezone.utc)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "berth e2e OIDC CA")])
        ca = (
            x509.CertificateBuilder()
            .subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        import ipaddress

        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        ca_path, cert_path, key_path = tmp_path / "ca.pem", tmp_path / "oidc.pem", tmp_path / "oidc.key"
        ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        return ca_path, cert_path, key_path

    def jwks(self):
        rn = self.rsa.public_key().public_numbers()
        en = self.ec.public_key().public_numbers()
        return {"keys": [
            {"kty": "RSA", "kid": "rsa1", "use": "sig", "alg": "RS256", "n": uint(rn.n), "e": uint(rn.e)},
            {"kty": "EC", "kid": "ec1", "use": "sig", "crv": "P-256",
             "x": b64url(en.x.to_bytes(32, "big")), "y": b64url(en.y.to_bytes(32, "big"))},
        ]}

    def token(self, alg="RS256", iss=None, aud="sts.amazonaws.com", sub="repo:acme/app", exp_in=600,
              kid=None, amr=None, sign_with=None, extra=None):
        header = {"alg": alg, "typ": "JWT", "kid": kid or ("rsa1" if alg == "RS256" else "ec1")}
        now = int(time.time())
        claims = {"iss": iss or self.url, "aud": aud, "sub": sub, "iat": now, "exp": now + exp_in}
        if amr is not None:
            claims["amr"] = amr
        claims.update(extra or {})
        signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}".encode()
        if alg == "RS256":
            key = sign_with or self.rsa
            sig = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        else:
            key = sign_with or self.ec
            r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
            sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return f"{signing_input.decode()}.{b64url(sig)}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def issuer(tmp_path):
    i = Issuer(tmp_path)
    yield i
    i.stop()


def unsigned_sts(berth):
    return boto3.client("sts", endpoint_url=berth.endpoint, region_name=REGION,
                        config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))


def web_identity_trust(provider_arn, host_path, sub="repo:acme/*"):
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {f"{host_path}:aud": "sts.amazonaws.com"},
            "StringLike": {f"{host_path}:sub": sub},
        },
    }]}


def refused(call, code, status, message=None, **kw):
    with pytest.raises(ClientError) as e:
        call(**kw)
    assert error_code(e.value) == code, e.value.response
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == status, e.value.response
    if message is not None:
        assert error_message(e.value) == message, e.value.response
    return e.value


def test_assume_role_with_web_identity(berth_factory, issuer):
    berth = berth_factory(env_extra={"AWS_CA_BUNDLE": str(issuer.ca_path)})
    iam = berth.client("iam")
    sts = unsigned_sts(berth)
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/ci"

    # No provider for the issuer yet (and no role): AWS's words.
    refused(sts.assume_role_with_web_identity, "InvalidIdentityToken", 400,
            f"No OpenIDConnect provider found in your account for {issuer.url}",
            RoleArn=role_arn, RoleSessionName="build-1", WebIdentityToken=issuer.token())

    provider_arn = iam.create_open_id_connect_provider(
        Url=issuer.url, ClientIDList=["sts.amazonaws.com"], ThumbprintList=["0" * 40],
    )["OpenIDConnectProviderArn"]
    assert provider_arn == f"arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer.host_path}"
    iam.create_role(RoleName="ci", AssumeRolePolicyDocument=json.dumps(
        web_identity_trust(provider_arn, issuer.host_path)))
    iam.put_role_policy(RoleName="ci", PolicyName="p", PolicyDocument=json.dumps(
        allow(["secretsmanager:CreateSecret", "secretsmanager:DescribeSecret"])))

    out = sts.assume_role_with_web_identity(
        RoleArn=role_arn, RoleSessionName="build-1", WebIdentityToken=issuer.token())
    assert out["SubjectFromWebIdentityToken"] == "repo:acme/app"
    assert out["Audience"] == "sts.amazonaws.com"
    assert out["Provider"] == issuer.url
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/ci/build-1"
    assert out["AssumedRoleUser"]["AssumedRoleId"].endswith(":build-1")
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")

    # The session's credentials act as the role: allowed by its policy, denied beyond it.
    session = boto3.Session(aws_access_key_id=creds["AccessKeyId"],
                            aws_secret_access_key=creds["SecretAccessKey"],
                            aws_session_token=creds["SessionToken"], region_name=REGION)
    cfg = Config(retries={"max_attempts": 1})
    assert session.client("sts", endpoint_url=berth.endpoint, config=cfg).get_caller_identity()["Arn"] == \
        f"arn:aws:sts::{ACCOUNT}:assumed-role/ci/build-1"
    sm = session.client("secretsmanager", endpoint_url=berth.endpoint, config=cfg)
    sm.create_secret(Name="from-ci", SecretString="x")
    e = refused(sm.get_secret_value, "AccessDeniedException", 400, SecretId="from-ci")
    assert "assumed-role/ci/build-1" in error_message(e)

    # ES256 tokens verify too.
    es = sts.assume_role_with_web_identity(
        RoleArn=role_arn, RoleSessionName="build-2", WebIdentityToken=issuer.token(alg="ES256"))
    assert es["AssumedRoleUser"]["Arn"].endswith("assumed-role/ci/build-2")

    # A token signed by another key, a wrong audience, an expired token.
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    refused(sts.assume_role_with_web_identity, "InvalidIdentityToken", 400,
            RoleArn=role_arn, RoleSessionName="s1", WebIdentityToken=issuer.token(sign_with=stranger))
    refused(sts.assume_role_with_web_identity, "InvalidIdentityToken", 400, "Incorrect token audience",
            RoleArn=role_arn, RoleSessionName="s1", WebIdentityToken=issuer.token(aud="someone-else"))
    e = refused(sts.assume_role_with_web_identity, "ExpiredTokenException", 400,
                RoleArn=role_arn, RoleSessionName="s1", WebIdentityToken=issuer.token(exp_in=-60))
    assert error_message(e).startswith("Token expired: current date/time ")
    # A key id the issuer does not publish.
    refused(sts.assume_role_with_web_identity, "InvalidIdentityToken", 400,
            "Couldn't retrieve verification key from your identity provider,  please reference "
            "AssumeRoleWithWebIdentity documentation for requirements",
            RoleArn=role_arn, RoleSessionName="s1", WebIdentityToken=issuer.token(kid="gone"))

    # The trust policy's conditions: another subject is not allowed; nor a role without trust.
    refused(sts.assume_role_with_web_identity, "AccessDenied", 403,
            "Not authorized to perform sts:AssumeRoleWithWebIdentity",
            RoleArn=role_arn, RoleSessionName="s1", WebIdentityToken=issuer.token(sub="repo:evil/app"))
    refused(sts.assume_role_with_web_identity, "AccessDenied", 403,
            "Not authorized to perform sts:AssumeRoleWithWebIdentity",
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/nobody", RoleSessionName="s1",
            WebIdentityToken=issuer.token())

    # The AWS CLI, unsigned (--no-sign-request) as it sends this call.
    code, stdout, stderr = berth.aws(
        "sts", "assume-role-with-web-identity", "--no-sign-request", "--role-arn", role_arn,
        "--role-session-name", "cli", "--web-identity-token", issuer.token(), "--output", "json")
    assert code == 0, stderr
    assert json.loads(stdout)["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/ci/cli"

    # Once the provider is deleted, its tokens are refused again.
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=provider_arn)
    refused(sts.assume_role_with_web_identity, "InvalidIdentityToken", 400,
            f"No OpenIDConnect provider found in your account for {issuer.url}",
            RoleArn=role_arn, RoleSessionName="s1", WebIdentityToken=issuer.token())


def tags_claim(tags, transitive=None):
    claim = {"principal_tags": tags}
    if transitive is not None:
        claim["transitive_tag_keys"] = transitive
    return {"https://aws.amazon.com/tags": claim}


def test_web_identity_token_session_tags_and_source_identity(berth_factory, issuer):
    berth = berth_factory(env_extra={"AWS_CA_BUNDLE": str(issuer.ca_path)})
    iam = berth.client("iam")
    sts = unsigned_sts(berth)
    provider_arn = iam.create_open_id_connect_provider(
        Url=issuer.url, ClientIDList=["sts.amazonaws.com"], ThumbprintList=["0" * 40],
    )["OpenIDConnectProviderArn"]
    berth.client("secretsmanager").create_secret(Name="db", SecretString="x")
    # `ci` trusts the provider's tokens, their tags only with team=blue, and a source identity.
    trust = web_identity_trust(provider_arn, issuer.host_path)
    trust["Statement"].append({
        "Effect": "Allow", "Principal": {"Federated": provider_arn}, "Action": "sts:TagSession",
        "Condition": {"StringEquals": {"aws:RequestTag/team": "blue"}},
    })
    trust["Statement"].append({
        "Effect": "Allow", "Principal": {"Federated": provider_arn}, "Action": "sts:SetSourceIdentity",
    })
    iam.create_role(RoleName="ci", AssumeRolePolicyDocument=json.dumps(trust))
    blue_reader = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "secretsmanager:DescribeSecret", "Resource": "*",
         "Condition": {"StringEquals": {"aws:PrincipalTag/team": "blue"}}},
        {"Effect": "Allow", "Action": "secretsmanager:ListSecrets", "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceIdentity": "ann"}}},
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"},
    ]}
    iam.put_role_policy(RoleName="ci", PolicyName="p", PolicyDocument=json.dumps(blue_reader))
    # `next` is assumed from a `ci` session: the token's transitive tag passes on.
    iam.create_role(RoleName="next", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/ci"},
            "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]}]}))
    iam.put_role_policy(RoleName="next", PolicyName="p", PolicyDocument=json.dumps(blue_reader))
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/ci"

    def assume(extra, arn=role_arn, name="s1"):
        return sts.assume_role_with_web_identity(
            RoleArn=arn, RoleSessionName=name, WebIdentityToken=issuer.token(extra=extra))

    def clients(out):
        c = out["Credentials"]
        creds = Creds(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
        return berth.client("secretsmanager", creds=creds), berth.client("sts", creds=creds)

    # Without tags the session is not team blue.
    sm, _ = clients(assume({}))
    refused(sm.describe_secret, "AccessDeniedException", 400, SecretId="db")

    tagged = assume({**tags_claim({"team": ["blue"], "env": ["dev"]}, ["team"]),
                     "https://aws.amazon.com/source_identity": "ann"})
    assert 0 < tagged["PackedPolicySize"] <= 100
    assert tagged["SourceIdentity"] == "ann"
    sm, role_sts = clients(tagged)
    assert sm.describe_secret(SecretId="db")["Name"] == "db"
    assert [s["Name"] for s in sm.list_secrets()["SecretList"]] == ["db"]
    chained = role_sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/next", RoleSessionName="n1")
    assert chained["SourceIdentity"] == "ann"
    sm_next, next_sts = clients(chained)
    assert sm_next.describe_secret(SecretId="db")["Name"] == "db"
    # The inherited transitive tag cannot be passed again.
    refused(next_sts.assume_role, "InvalidParameterValue", 400,
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/next", RoleSessionName="n2",
            Tags=[{"Key": "Team", "Value": "red"}])

    # The trust policy's conditions on the token's tags.
    refused(sts.assume_role_with_web_identity, "AccessDenied", 403, "Not authorized to perform sts:TagSession",
            RoleArn=role_arn, RoleSessionName="s1", WebIdentityToken=issuer.token(extra=tags_claim({"team": ["red"]})))
    # A role whose trust policy does not allow sts:TagSession or sts:SetSourceIdentity.
    iam.create_role(RoleName="plain", AssumeRolePolicyDocument=json.dumps(
        web_identity_trust(provider_arn, issuer.host_path)))
    plain = f"arn:aws:iam::{ACCOUNT}:role/plain"
    refused(sts.assume_role_with_web_identity, "AccessDenied", 403, "Not authorized to perform sts:TagSession",
            RoleArn=plain, RoleSessionName="s1", WebIdentityToken=issuer.token(extra=tags_claim({"team": ["blue"]})))
    refused(sts.assume_role_with_web_identity, "AccessDenied", 403,
            "Not authorized to perform sts:SetSourceIdentity", RoleArn=plain, RoleSessionName="s1",
            WebIdentityToken=issuer.token(extra={"https://aws.amazon.com/source_identity": "ann"}))
    assert assume({}, arn=plain)["AssumedRoleUser"]["Arn"].endswith("assumed-role/plain/s1")

    # Malformed claims, duplicate keys, transitive keys that name no tag, the model's limits.
    for bad in [{"https://aws.amazon.com/tags": "team=blue"}, tags_claim({"team": "blue"}),
                tags_claim({"team": ["blue", "red"]}), tags_claim({"team": ["blue"]}, "team")]:
        refused(sts.assume_role_with_web_identity, "ValidationError", 400, "Unable to validate tags",
                RoleArn=role_arn, RoleSessionName="s1", WebIdentityToken=issuer.token(extra=bad))
    refused(sts.assume_role_with_web_identity, "InvalidParameterValue", 400,
            "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
            RoleArn=role_arn, RoleSessionName="s1",
            WebIdentityToken=issuer.token(extra=tags_claim({"Team": ["blue"], "team": ["blue"]})))
    refused(sts.assume_role_with_web_identity, "InvalidParameterValue", 400,
            "The specified transitive tag key must be included in the requested tags.",
            RoleArn=role_arn, RoleSessionName="s1",
            WebIdentityToken=issuer.token(extra=tags_claim({"team": ["blue"]}, ["env"])))
    e = refused(sts.assume_role_with_web_identity, "ValidationError", 400, RoleArn=role_arn,
                RoleSessionName="s1", WebIdentityToken=issuer.token(extra=tags_claim({"bad#key": ["blue"]})))
    assert "failed to satisfy constraint: Member must satisfy regular expression pattern" in error_message(e)
    e = refused(sts.assume_role_with_web_identity, "ValidationError", 400, RoleArn=role_arn,
                RoleSessionName="s1", WebIdentityToken=issuer.token(
                    extra={"https://aws.amazon.com/source_identity": "a"}))
    assert "'sourceIdentity'" in error_message(e)

    # The AWS CLI, unsigned, with a tagged token.
    code, stdout, stderr = berth.aws(
        "sts", "assume-role-with-web-identity", "--no-sign-request", "--role-arn", role_arn,
        "--role-session-name", "cli", "--web-identity-token",
        issuer.token(extra=tags_claim({"team": ["blue"]})), "--output", "json")
    assert code == 0, stderr
    assert 0 < json.loads(stdout)["PackedPolicySize"] <= 100


def test_an_unreachable_issuer_is_an_idp_communication_error(berth_factory, issuer):
    berth = berth_factory(env_extra={"AWS_CA_BUNDLE": str(issuer.ca_path)})
    iam = berth.client("iam")
    # A provider registered for an issuer nobody serves (the test issuer stopped).
    url, host_path = issuer.url, issuer.host_path
    token = issuer.token()
    issuer.stop()
    provider_arn = iam.create_open_id_connect_provider(
        Url=url, ClientIDList=["sts.amazonaws.com"], ThumbprintList=["0" * 40])["OpenIDConnectProviderArn"]
    iam.create_role(RoleName="ci", AssumeRolePolicyDocument=json.dumps(web_identity_trust(provider_arn, host_path)))
    refused(unsigned_sts(berth).assume_role_with_web_identity, "IDPCommunicationError", 400,
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/ci", RoleSessionName="s1", WebIdentityToken=token)


def test_the_issuer_is_trusted_through_ca_file_and_not_without_it(berth_factory, issuer, tmp_path):
    """`berth server --ca-file` names the issuer's CA (and wins over AWS_CA_BUNDLE, as a flag
    wins over its variable); a server trusting another CA cannot reach the issuer."""
    token = issuer.token()
    other_dir = tmp_path / "other-ca"
    other_dir.mkdir()
    other_ca, _, _ = issuer._certificates(other_dir)
    servers = {
        "trusting": berth_factory("trusting", extra_args=["--ca-file", str(issuer.ca_path)],
                                  env_extra={"AWS_CA_BUNDLE": str(other_ca)}),
        "untrusting": berth_factory("untrusting", env_extra={"AWS_CA_BUNDLE": str(other_ca)}),
    }
    for name, berth in servers.items():
        iam = berth.client("iam")
        provider_arn = iam.create_open_id_connect_provider(
            Url=issuer.url, ClientIDList=["sts.amazonaws.com"], ThumbprintList=["0" * 40],
        )["OpenIDConnectProviderArn"]
        iam.create_role(RoleName="ci", AssumeRolePolicyDocument=json.dumps(
            web_identity_trust(provider_arn, issuer.host_path)))
        sts = unsigned_sts(berth)
        call = dict(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/ci", RoleSessionName="s1", WebIdentityToken=token)
        if name == "trusting":
            creds = sts.assume_role_with_web_identity(**call)["Credentials"]
            assert creds["AccessKeyId"].startswith("ASIA"), creds
        else:
            e = refused(sts.assume_role_with_web_identity, "IDPCommunicationError", 400, **call)
            # The other CA bears the same name: its signature does not verify the issuer's.
            assert "invalid peer certificate" in error_message(e), e.response


def test_assume_role_with_saml_refusals(berth):
    iam = berth.client("iam")
    sts = unsigned_sts(berth)
    metadata = (
        '<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
        'entityID="https://idp.example.com/saml"><md:IDPSSODescriptor '
        'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:SingleSignOnService '
        'Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/>'
        "</md:IDPSSODescriptor></md:EntityDescriptor>" + "<!-- " + "x" * 800 + " -->"
    )
    provider_arn = iam.create_saml_provider(Name="corp", SAMLMetadataDocument=metadata)["SAMLProviderArn"]
    iam.create_role(RoleName="sso", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:saml-provider/corp"},
            "Action": "sts:AssumeRoleWithSAML"}]}))
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/sso"
    assertion = base64.b64encode(b'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>').decode()
    # No such role.
    refused(sts.assume_role_with_saml, "AccessDenied", 403, "Not authorized to perform sts:AssumeRoleWithSAML",
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/nobody",
            PrincipalArn=f"arn:aws:iam::{ACCOUNT}:saml-provider/corp", SAMLAssertion=assertion)
    # No such provider.
    refused(sts.assume_role_with_saml, "InvalidIdentityToken", 400, RoleArn=role_arn,
            PrincipalArn=f"arn:aws:iam::{ACCOUNT}:saml-provider/missing", SAMLAssertion=assertion)
    # Not a SAML response, then one berth cannot verify.
    e = refused(sts.assume_role_with_saml, "InvalidIdentityToken", 400, RoleArn=role_arn,
                PrincipalArn=provider_arn, SAMLAssertion="bm90IHhtbA==")
    assert "base64" in error_message(e)
    e = refused(sts.assume_role_with_saml, "InvalidIdentityToken", 400, RoleArn=role_arn,
                PrincipalArn=provider_arn, SAMLAssertion=assertion)
    assert "cannot verify" in error_message(e)


def test_every_operation_of_the_sts_model_is_answered(berth):
    unanswered, version = unanswered_operations(berth, "sts", "sts.json")
    assert unanswered == [], unanswered
    # A made-up operation still is not found, so the walk can fail.
    status, text = query_action(berth, "sts", "NoSuchOperation", version)
    assert status == 400 and "Could not find operation NoSuchOperation" in text, text


def test_the_operations_without_their_feature(berth):
    sts = berth.client("sts")
    refused(sts.get_web_identity_token, "OutboundWebIdentityFederationDisabledException", 403,
            Audience=["https://api.example.com"], SigningAlgorithm="RS256")
    e = refused(sts.assume_root, "AccessDenied", 403, TargetPrincipal="111122223333",
                TaskPolicyArn={"arn": "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"})
    assert "Organizations" in error_message(e)
    refused(sts.get_delegated_access_token, "ValidationError", 400, TradeInToken="x" * 32)
    # GetScopedCredentials, which this botocore does not know yet, signed by hand.
    status, text = query_action(berth, "sts", "GetScopedCredentials", "2011-06-15")
    assert status == 403 and "<Code>AccessDenied</Code>" in text, text
    # Unsigned, only the two federation operations are answered.
    status, _, raw = berth.raw(
        body=urllib.parse.urlencode({"Action": "GetCallerIdentity", "Version": "2011-06-15"}).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    assert status in (400, 403) and b"MissingAuthenticationToken" in raw, raw
