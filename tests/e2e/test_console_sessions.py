"""Console sessions kept in the store (docs/console.md): replicas on one PostgreSQL database
behind HAProxy share them, so a session survives the SIGKILL of the replica that signed it in
and a sign-out through one replica ends it on the other; and the session cookie carries
`Secure` when berth serves TLS, never on plain HTTP.

Needs PostgreSQL and haproxy as test_replicas.py does (scripts/install-test-deps)."""

import re
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request

from conftest import REGION, store_bytes
from test_postgres import fresh_db, pg_admin  # noqa: F401
from test_replicas import cluster, kill  # noqa: F401
from test_tls import pki, tls_berth  # noqa: F401


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


def request(endpoint, path, cookie=None, form=None, context=None):
    """(status, headers, body) of one GET (or POST of `form`), redirects not followed."""
    headers = {}
    data = None
    if cookie:
        headers["Cookie"] = cookie
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    req = urllib.request.Request(endpoint + path, data=data, headers=headers,
                                 method="POST" if form is not None else "GET")
    handlers = [NoRedirect()]
    if context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=context))
    try:
        with urllib.request.build_opener(*handlers).open(req, timeout=10) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def sign_in(endpoint, creds, context=None):
    """Signs in with an access key as the sign-in form does (the pre-session token as cookie
    and field); returns the `Set-Cookie` of the session and the cookie to send."""
    pre = secrets.token_hex(32)
    status, headers, body = request(endpoint, "/console/signin", cookie=f"berth_console_signin={pre}", form={
        "signin": pre, "access_key_id": creds.access_key_id, "secret": creds.secret_access_key, "region": REGION,
    }, context=context)
    assert status == 303 and headers["Location"] == "/console", (status, body)
    set_cookie = [c for c in headers.get_all("Set-Cookie") if c.startswith("berth_console=")]
    assert len(set_cookie) == 1, headers.get_all("Set-Cookie")
    session = set_cookie[0].split(";")[0]
    return set_cookie[0], session


def csrf(endpoint, cookie):
    status, _, body = request(endpoint, "/console/clusters", cookie=cookie)
    assert status == 200, body
    m = re.search(r'name="csrf" value="([0-9a-f]{64})"', body)
    assert m, body
    return m.group(1)


def signed_in(endpoint, cookie, context=None):
    status, headers, body = request(endpoint, "/console", cookie=cookie, context=context)
    if status == 200:
        assert "Sign out" in body
        return True
    assert status == 303 and headers["Location"] == "/console/signin", (status, body)
    return False


def test_a_session_survives_its_replicas_sigkill_and_sign_out_ends_it_everywhere(cluster):  # noqa: F811
    a, b = cluster.replica("a"), cluster.replica("b")
    h = cluster.proxy(a, b)
    # Sign-out through one replica ends the session on the other.
    _, cookie = sign_in(a.endpoint, a.root)
    assert signed_in(b.endpoint, cookie)
    token = csrf(b.endpoint, cookie)
    status, headers, _ = request(a.endpoint, "/console/signout", cookie=cookie, form={"csrf": token})
    assert status == 303 and headers["Location"] == "/console/signin"
    assert not signed_in(b.endpoint, cookie)
    assert not signed_in(a.endpoint, cookie)

    # Signed in through HAProxy: the replica whose log has the sign-in is killed.
    before = {r: r.log().count("console sign-in") for r in (a, b)}
    _, cookie = sign_in(h.endpoint, a.root)
    signer = [r for r in (a, b) if r.log().count("console sign-in") > before[r]]
    assert len(signer) == 1, "no replica, or both, logged the sign-in"
    signer = signer[0]
    other = b if signer is a else a
    assert signed_in(other.endpoint, cookie)
    kill(signer)
    # The next pages through HAProxy are still signed in (a 502 while HAProxy has not yet
    # marked the dead replica down is retried, as a browser's reload would).
    deadline = time.time() + 30
    answered = 0
    while answered < 4:
        assert time.time() < deadline, h.log()
        status, headers, body = request(h.endpoint, "/console", cookie=cookie)
        if status in (502, 503):
            time.sleep(0.2)
            continue
        assert status == 200 and "Sign out" in body, (status, dict(headers), body)
        answered += 1
    # A form posted with the session's CSRF token works on the survivor.
    token = csrf(h.endpoint, cookie)
    status, headers, body = request(h.endpoint, "/console/clusters", cookie=cookie,
                                    form={"clusterName": "after-failover", "csrf": token})
    assert status == 303, body
    names = [c.split("/")[-1] for c in other.client("ecs").list_clusters()["clusterArns"]]
    assert "after-failover" in names


def test_the_session_cookie_is_secure_on_tls_only(berth_factory, tls_berth):  # noqa: F811
    set_cookie, cookie = sign_in(tls_berth.endpoint, tls_berth.root, context=tls_berth.context())
    attrs = [p.strip() for p in set_cookie.split(";")]
    assert "Secure" in attrs and "HttpOnly" in attrs and "SameSite=Strict" in attrs, set_cookie
    assert signed_in(tls_berth.endpoint, cookie, context=tls_berth.context())
    # The sign-in page's pre-session cookie is Secure too.
    _, headers, _ = request(tls_berth.endpoint, "/console/signin", context=tls_berth.context())
    pre = [c for c in headers.get_all("Set-Cookie") if c.startswith("berth_console_signin=")]
    assert pre and "Secure" in [p.strip() for p in pre[0].split(";")], pre

    berth = berth_factory("plain")
    set_cookie, cookie = sign_in(berth.endpoint, berth.root)
    attrs = [p.strip() for p in set_cookie.split(";")]
    assert "Secure" not in attrs and "HttpOnly" in attrs, set_cookie
    assert signed_in(berth.endpoint, cookie)


def test_a_session_outlives_a_restart_of_its_server(berth_factory):
    b = berth_factory("data")
    _, cookie = sign_in(b.endpoint, b.root)
    token = csrf(b.endpoint, cookie)
    b.stop()
    b = berth_factory("data")
    assert signed_in(b.endpoint, cookie)
    assert csrf(b.endpoint, cookie) == token
    # Nothing of the id or the CSRF token is in the database file in the clear.
    raw = store_bytes(b.data_dir)
    session_id = cookie.split("=", 1)[1]
    assert session_id.encode() not in raw and token.encode() not in raw
