"""The web console at /console, in headless Chromium (Debian's `chromium`, driven by Playwright):
sign-in, clusters, task definitions from JSON, running and stopping a real FARGATE task,
secrets (metadata only), the doctor's verdict, IAM denials in the page, CSRF, sign-out, and
screenshots of the main pages at desktop and phone widths."""

import json
import os
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from PIL import Image, ImageStat
from playwright.sync_api import sync_playwright

from conftest import REGION
from docker_fixtures import REGISTRY_USER, docker_ready, registry  # noqa: F401
from helpers import allow, user_creds

ACCOUNT = "000000000000"
CHROMIUM = os.environ.get("BERTH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking"]
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
SECRET_VALUE_MARKER = "ConsoleMustNeverShowThis-7Q2"


@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM) and not os.path.isfile(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-test-deps (Debian package chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    yield pg
    context.close()


def sign_in(page, berth, creds=None, expect_ok=True):
    c = creds or berth.root
    page.goto(berth.endpoint + "/console")
    assert page.url.endswith("/console/signin")
    page.get_by_label("Access key ID").fill(c.access_key_id)
    page.get_by_label("Secret access key").fill(c.secret_access_key)
    page.get_by_role("button", name="Sign in").click()
    if expect_ok:
        page.wait_for_url(berth.endpoint + "/console")


def nav(page, name):
    page.get_by_role("navigation").get_by_role("link", name=name, exact=True).click()


def assert_accessible_basics(page):
    """Landmarks, one h1, a label for every visible form control, headers on every table."""
    problems = page.evaluate("""() => {
        const out = [];
        if (!document.querySelector('main')) out.push('no main');
        if (document.querySelectorAll('h1').length !== 1) out.push('not one h1');
        if (document.documentElement.lang !== 'en') out.push('no lang');
        for (const el of document.querySelectorAll('input:not([type=hidden]),select,textarea')) {
            if (!el.labels || el.labels.length === 0) out.push('unlabelled ' + el.name);
        }
        for (const t of document.querySelectorAll('table')) {
            if (!t.querySelector('th[scope=col]')) out.push('table without column headers');
        }
        return out;
    }""")
    assert problems == [], problems


def no_horizontal_overflow(page):
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def task_definition_json(family, secret_ref, image="127.0.0.1:5000/app:1", role="ecsTaskExecutionRole",
                         command=("sh", "-c", "echo hello from the console; sleep 120")):
    return json.dumps({
        "family": family,
        "executionRoleArn": role,
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{
            "name": "app", "image": image, "essential": True, "stopTimeout": 2,
            "command": list(command),
            "repositoryCredentials": {"credentialsParameter": secret_ref},
        }],
    }, indent=2)


def make_role(berth, name="ecsTaskExecutionRole", policy=None):
    iam = berth.client("iam")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    if policy is not None:
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    return arn


def register_from_console(page, berth, document):
    page.goto(berth.endpoint + "/console/task-definitions")
    page.get_by_label("Task definition JSON (RegisterTaskDefinition input)").fill(document)
    page.get_by_role("button", name="Register").click()


def test_sign_in_wrong_secret_fails_then_root_signs_in(berth, page):
    page.goto(berth.endpoint + "/console")
    assert page.url.endswith("/console/signin")
    assert_accessible_basics(page)
    page.get_by_label("Access key ID").fill(berth.root.access_key_id)
    page.get_by_label("Secret access key").fill(berth.root.secret_access_key + "x")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "the access key id or the secret access key is not valid"
    assert page.url.endswith("/console/signin")
    # An unknown key gets the same words.
    page.get_by_label("Access key ID").fill("AKIAUNKNOWNKEY000000")
    page.get_by_label("Secret access key").fill(berth.root.secret_access_key)
    page.get_by_role("button", name="Sign in").click()
    assert "is not valid" in page.get_by_role("alert").inner_text()

    sign_in(page, berth)
    assert f"Signed in as arn:aws:iam::{ACCOUNT}:root" in page.inner_text("header")
    assert page.get_by_role("heading", level=1).inner_text() == "Overview"
    # The session cookie: HttpOnly, SameSite=Strict, scoped to /console, and not the secret.
    cookies = {c["name"]: c for c in page.context.cookies()}
    s = cookies["berth_console"]
    assert s["httpOnly"] and s["sameSite"] == "Strict" and s["path"] == "/console"
    assert berth.root.secret_access_key not in json.dumps(list(cookies.values()))
    assert len(s["value"]) == 64
    # The security headers.
    resp = page.goto(berth.endpoint + "/console")
    h = resp.headers
    assert h["content-security-policy"] == ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
                                            "form-action 'self'; frame-ancestors 'none'")
    assert h["x-frame-options"] == "DENY"
    assert h["referrer-policy"] == "same-origin"
    assert h["cache-control"] == "no-store"
    # The secret never reaches the log.
    assert berth.root.secret_access_key not in berth.log()


def test_temporary_credentials_are_refused(berth, page):
    creds = user_creds(berth, "assumer", allow("sts:AssumeRole"))
    iam = berth.client("iam")
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                       "Action": "sts:AssumeRole"}]}))
    c = berth.client("sts", creds=creds).assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/r",
                                                     RoleSessionName="console")["Credentials"]
    page.goto(berth.endpoint + "/console/signin")
    page.get_by_label("Access key ID").fill(c["AccessKeyId"])
    page.get_by_label("Secret access key").fill(c["SecretAccessKey"])
    page.get_by_role("button", name="Sign in").click()
    assert "temporary credentials" in page.get_by_role("alert").inner_text()


def test_clusters_task_definitions_and_a_fargate_task_run_and_stop(berth, page, registry):
    sm = berth.client("secretsmanager")
    secret_arn = sm.create_secret(Name="registry-creds", SecretString=json.dumps(
        {"username": REGISTRY_USER[0], "password": REGISTRY_USER[1]}))["ARN"]
    make_role(berth, policy=allow("secretsmanager:GetSecretValue", secret_arn))
    sign_in(page, berth)

    # Create a cluster.
    nav(page, "Clusters")
    assert_accessible_basics(page)
    page.get_by_label("Cluster name").fill("console-e2e")
    page.get_by_role("button", name="Create cluster").click()
    page.wait_for_url(berth.endpoint + "/console/clusters")
    assert page.get_by_role("status").inner_text() == "cluster console-e2e created"
    assert page.get_by_role("rowheader", name="console-e2e").is_visible()
    names = [a.split("/")[-1] for a in berth.client("ecs").list_clusters()["clusterArns"]]
    assert "console-e2e" in names

    # Register from JSON: a secret by name is refused, as the AWS console refuses it.
    family = "console-app"
    register_from_console(page, berth, task_definition_json(family, "registry-creds", image=registry.image))
    alert = page.get_by_role("alert").inner_text()
    assert "ClientException" in alert and "must be the full ARN" in alert and '"registry-creds"' in alert
    assert berth.client("ecs").list_task_definitions(familyPrefix=family)["taskDefinitionArns"] == []
    # The pasted JSON is kept in the form.
    assert '"registry-creds"' in page.get_by_label("Task definition JSON (RegisterTaskDefinition input)").input_value()
    # RegisterTaskDefinition's own validation comes back in AWS's words.
    bad = json.loads(task_definition_json(family, secret_arn, image=registry.image))
    del bad["executionRoleArn"]
    register_from_console(page, berth, json.dumps(bad))
    assert ("Private repository authentication requires that the task definition specify a value for "
            "executionRoleArn.") in page.get_by_role("alert").inner_text()
    # By full ARN it registers.
    register_from_console(page, berth, task_definition_json(family, secret_arn, image=registry.image))
    page.wait_for_url("**/console/task-definition?taskDefinition=*")
    assert page.get_by_role("status").inner_text() == f"registered {family}:1"
    assert secret_arn in page.locator("pre").inner_text()
    td = berth.client("ecs").describe_task_definition(taskDefinition=family)["taskDefinition"]
    assert td["containerDefinitions"][0]["repositoryCredentials"]["credentialsParameter"] == secret_arn

    # Run it on FARGATE from the Tasks page: without a subnet Fargate refuses, with one it runs.
    page.get_by_role("link", name="Run this task definition").click()
    assert_accessible_basics(page)
    page.get_by_label("Cluster", exact=True).first.select_option("console-e2e")
    page.get_by_role("button", name="Show tasks").click()
    page.locator("#run-cluster").select_option("console-e2e")
    page.get_by_label("Launch type").select_option("FARGATE")
    page.get_by_role("button", name="Run task").click()
    assert "Network Configuration must be provided when networkMode 'awsvpc' is specified." in \
        page.get_by_role("alert").inner_text()
    page.locator("#run-cluster").select_option("console-e2e")
    page.get_by_label("Launch type").select_option("FARGATE")
    page.get_by_label("Subnet (required for FARGATE; recorded, not provisioned)").fill("subnet-0123456789abcdef0")
    page.get_by_role("button", name="Run task").click()
    page.wait_for_url("**/console/tasks?cluster=console-e2e")
    assert page.get_by_role("status").inner_text().startswith("started task ")
    arns = berth.client("ecs").list_tasks(cluster="console-e2e")["taskArns"]
    assert len(arns) == 1
    task_id = arns[0].split("/")[-1]
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=task_id))
    deadline = time.time() + 90
    while row.get_by_role("cell").all_inner_texts()[2] != "RUNNING":
        assert time.time() < deadline, row.inner_text()
        assert "STOPPED" not in row.inner_text(), row.inner_text()
        time.sleep(0.5)
        page.reload()
    assert "app: RUNNING" in row.inner_text()

    # Stop it and see the stoppedReason and the container's exit code.
    row.get_by_role("button", name=f"Stop task {task_id}").click()
    page.wait_for_url("**/console/tasks?cluster=console-e2e")
    assert page.get_by_role("status").inner_text().startswith(f"stopping task {task_id}")
    deadline = time.time() + 60
    while row.get_by_role("cell").all_inner_texts()[2] != "STOPPED":
        assert time.time() < deadline, row.inner_text()
        time.sleep(0.5)
        page.reload()
    cells = row.get_by_role("cell").all_inner_texts()
    # Task definition, launch type, last status, desired status, stop code, stopped reason,
    # containers, created, action.
    assert cells[0] == f"{family}:1" and cells[1] == "FARGATE", cells
    assert cells[2] == "STOPPED" and cells[3] == "STOPPED", cells
    assert cells[4] == "UserInitiated" and cells[5] == "Task stopped by user", cells
    assert "app: STOPPED, exit code" in cells[6], cells
    assert row.get_by_role("button").count() == 0
    t = berth.client("ecs").describe_tasks(cluster="console-e2e", tasks=[arns[0]])["tasks"][0]
    assert t["stoppedReason"] == "Task stopped by user" and t["stopCode"] == "UserInitiated"


def test_a_task_that_exits_shows_its_stopped_reason(berth, page, registry):
    secret_arn = berth.client("secretsmanager").create_secret(Name="registry-creds", SecretString=json.dumps(
        {"username": REGISTRY_USER[0], "password": REGISTRY_USER[1]}))["ARN"]
    make_role(berth, policy=allow("secretsmanager:GetSecretValue", secret_arn))
    sign_in(page, berth)
    register_from_console(page, berth, task_definition_json("exits", secret_arn, image=registry.image,
                                                            command=("sh", "-c", "exit 3")))
    page.wait_for_url("**/console/task-definition?taskDefinition=*")
    page.get_by_role("link", name="Run this task definition").click()
    page.get_by_label("Launch type").select_option("FARGATE")
    page.get_by_label("Subnet (required for FARGATE; recorded, not provisioned)").fill("subnet-12345678")
    page.get_by_role("button", name="Run task").click()
    page.wait_for_url("**/console/tasks?cluster=default")
    arn = berth.client("ecs").list_tasks(cluster="default")["taskArns"][0]
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=arn.split("/")[-1]))
    deadline = time.time() + 90
    while True:
        cells = row.get_by_role("cell").all_inner_texts()
        if cells[2] == "STOPPED":
            break
        assert time.time() < deadline, cells
        time.sleep(0.5)
        page.reload()
    assert cells[4] == "EssentialContainerExited", cells
    assert cells[5] == "Essential container in task exited", cells
    assert "app: STOPPED, exit code 3" in cells[6], cells


def test_an_ec2_task_without_instances_fails_in_ecs_words(berth, page):
    berth.client("ecs").register_task_definition(
        family="plain", containerDefinitions=[{"name": "app", "image": "busybox", "memory": 64}])
    sign_in(page, berth)
    page.goto(berth.endpoint + "/console/tasks")
    page.get_by_label("Launch type").select_option("EC2")
    page.get_by_role("button", name="Run task").click()
    assert "No Container Instances were found in your cluster." in page.get_by_role("alert").inner_text()


def test_secrets_show_metadata_and_never_the_value(berth, page):
    kms = berth.client("kms")
    key = kms.create_key(Description="console")["KeyMetadata"]["Arn"]
    sm = berth.client("secretsmanager")
    arn = sm.create_secret(Name="app/db", Description="the <b>database</b> login", KmsKeyId=key,
                           SecretString=json.dumps({"username": "u", "password": SECRET_VALUE_MARKER}),
                           Tags=[{"Key": "team", "Value": "payments"}])["ARN"]
    sm.create_secret(Name="plain", SecretString=SECRET_VALUE_MARKER + "-2")
    sign_in(page, berth)
    nav(page, "Secrets")
    assert_accessible_basics(page)
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="app/db"))
    cells = row.get_by_role("cell").all_inner_texts()
    assert cells[0] == arn
    assert cells[1] == "the <b>database</b> login"  # shown as text, not markup
    assert cells[2] == key
    assert cells[3].endswith("Z") and cells[3].startswith("20")
    assert cells[4] == "team=payments"
    plain = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="plain"))
    assert "AWS managed key" in plain.inner_text()
    # The value is nowhere: not in this page, not in any page of the console.
    for path in ("/console", "/console/secrets", "/console/task-definitions", "/console/tasks",
                 "/console/doctor", "/console/secret?secretId=app/db", "/console/secrets?SecretId=app/db"):
        page.goto(berth.endpoint + path)
        assert SECRET_VALUE_MARKER not in page.content(), path
    assert SECRET_VALUE_MARKER not in berth.log()


def test_doctor_verdict_fails_with_its_fix_then_passes(berth, page):
    sm = berth.client("secretsmanager")
    secret_arn = sm.create_secret(Name="registry-creds", SecretString=json.dumps(
        {"username": "privateRegistryUsername", "password": "privateRegistryPassword"}))["ARN"]
    make_role(berth)  # no GetSecretValue
    berth.client("ecs").register_task_definition(**json.loads(task_definition_json("doc-app", secret_arn)))
    sign_in(page, berth)
    nav(page, "Doctor")
    assert_accessible_basics(page)
    page.get_by_label("Task definition").select_option(label="doc-app:1")
    page.get_by_role("button", name="Diagnose").click()
    assert "Verdict: the task would not start (1 check failed)." in page.get_by_role("status").inner_text()
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="get-secret-value"))
    cells = row.get_by_role("cell").all_inner_texts()
    assert cells[0] == "app" and cells[1] == "FAIL", cells
    assert "may not secretsmanager:GetSecretValue" in cells[2], cells
    fix = row.locator("pre").inner_text()
    [stmt] = json.loads(fix[fix.index("{"):fix.rindex("}") + 1])["Statement"]
    assert stmt == {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret_arn}
    assert "privateRegistryPassword" not in page.content()

    # Apply the fix: the verdict passes.
    berth.client("iam").put_role_policy(RoleName="ecsTaskExecutionRole", PolicyName="fix",
                                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [stmt]}))
    page.reload()
    assert page.get_by_role("status").inner_text() == "Verdict: the task would start (every check passes)."
    results = page.locator("tbody tr td:nth-child(3)").all_inner_texts()
    assert results and set(results) == {"pass"}, results
    assert "privateRegistryPassword" not in page.content()


def test_iam_user_without_permissions_sees_access_denied(berth, page):
    creds = user_creds(berth, "viewer", allow("secretsmanager:ListSecrets"))
    berth.client("ecs").create_cluster(clusterName="hidden-cluster")
    berth.client("ecs").register_task_definition(
        family="hidden", containerDefinitions=[{"name": "app", "image": "busybox", "memory": 64}])
    sign_in(page, berth, creds)
    assert f"Signed in as arn:aws:iam::{ACCOUNT}:user/viewer" in page.inner_text("header")
    alert = page.get_by_role("alert").inner_text()
    assert alert == (f"AccessDeniedException: User: arn:aws:iam::{ACCOUNT}:user/viewer is not authorized to "
                     "perform: ecs:ListClusters on resource: * because no identity-based policy allows the "
                     "ecs:ListClusters action")
    assert "hidden-cluster" not in page.content()
    resp = page.goto(berth.endpoint + "/console/task-definitions")
    assert resp.status == 403
    assert "ecs:ListTaskDefinitions" in page.get_by_role("alert").inner_text()
    assert "hidden:1" not in page.content()
    # A POST is refused by IAM, not by the console, and changes nothing.
    page.goto(berth.endpoint + "/console/clusters")
    page.get_by_label("Cluster name").fill("not-allowed")
    page.get_by_role("button", name="Create cluster").click()
    assert "ecs:CreateCluster" in page.get_by_role("alert").first.inner_text()
    assert not any(a.endswith("/not-allowed") for a in berth.client("ecs").list_clusters()["clusterArns"])
    # What the user may do works.
    resp = page.goto(berth.endpoint + "/console/secrets")
    assert resp.status == 200
    # The doctor needs ecs:DescribeTaskDefinition, as the API would.
    resp = page.goto(berth.endpoint + "/console/doctor?taskDefinition=hidden")
    assert resp.status == 403 and "ecs:DescribeTaskDefinition" in page.content()


def test_run_task_needs_pass_role_as_the_api_does(berth, page):
    role_arn = make_role(berth)
    berth.client("ecs").register_task_definition(
        family="needs-role", executionRoleArn=role_arn, networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
        cpu="256", memory="512", containerDefinitions=[{"name": "app", "image": "busybox"}])
    creds = user_creds(berth, "deployer", allow(["ecs:*"]))
    sign_in(page, berth, creds)
    page.goto(berth.endpoint + "/console/tasks")
    page.get_by_label("Launch type").select_option("FARGATE")
    page.get_by_label("Subnet (required for FARGATE; recorded, not provisioned)").fill("subnet-12345678")
    page.get_by_role("button", name="Run task").click()
    alert = page.get_by_role("alert").inner_text()
    assert alert.startswith(f"AccessDeniedException: User: arn:aws:iam::{ACCOUNT}:user/deployer is not authorized "
                            f"to perform: iam:PassRole on resource: {role_arn}"), alert
    assert berth.client("ecs").list_clusters()["clusterArns"] == []  # nothing ran, not even "default" was made
    # The doctor page also needs iam:SimulatePrincipalPolicy on the execution role.
    resp = page.goto(berth.endpoint + "/console/doctor?taskDefinition=needs-role")
    assert resp.status == 403 and "iam:SimulatePrincipalPolicy" in page.get_by_role("alert").inner_text()


def test_posts_without_the_csrf_token_are_refused_and_change_nothing(berth, page):
    sign_in(page, berth)
    page.goto(berth.endpoint + "/console/clusters")
    token = page.locator("form[action='/console/clusters'] input[name=csrf]").input_value()
    assert len(token) == 64
    url = berth.endpoint + "/console/clusters"
    # No token, a wrong token: 403 (the browser's cookies go along).
    r = page.request.post(url, form={"clusterName": "csrf-none"}, max_redirects=0)
    assert r.status == 403 and "csrf token" in r.text()
    r = page.request.post(url, form={"clusterName": "csrf-wrong", "csrf": "0" * 64}, max_redirects=0)
    assert r.status == 403
    # The right token from another origin: 403.
    r = page.request.post(url, form={"clusterName": "csrf-origin", "csrf": token},
                          headers={"Origin": "http://evil.example"}, max_redirects=0)
    assert r.status == 403 and "cross-origin" in r.text()
    # The right token from an opaque origin (a sandboxed frame, a data: page): 403.
    r = page.request.post(url, form={"clusterName": "csrf-null", "csrf": token},
                          headers={"Origin": "null"}, max_redirects=0)
    assert r.status == 403 and "cross-origin" in r.text()
    # Stop and run are guarded the same way.
    r = page.request.post(berth.endpoint + "/console/tasks/run", form={"taskDefinition": "x"}, max_redirects=0)
    assert r.status == 403
    names = [a.split("/")[-1] for a in berth.client("ecs").list_clusters()["clusterArns"]]
    assert not any(n.startswith("csrf-") for n in names), names
    # With the token, from our own origin, it works.
    r = page.request.post(url, form={"clusterName": "csrf-ok", "csrf": token},
                          headers={"Origin": berth.endpoint}, max_redirects=0)
    assert r.status == 303
    names = [a.split("/")[-1] for a in berth.client("ecs").list_clusters()["clusterArns"]]
    assert "csrf-ok" in names
    # Login CSRF: a sign-in POST without the pre-session token is refused.
    status = post_form(berth, "/console/signin", {
        "access_key_id": berth.root.access_key_id, "secret": berth.root.secret_access_key, "region": REGION})
    assert status[0] == 403 and "berth_console=" not in status[1].get("Set-Cookie", "")


def post_form(berth, path, form, cookie=None):
    data = urllib.parse.urlencode(form).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if cookie:
        headers["Cookie"] = cookie
    req = urllib.request.Request(berth.endpoint + path, data=data, method="POST", headers=headers)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=10) as r:
            return r.status, dict(r.headers.items()), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers.items()), e.read().decode()


def get_page(berth, path, cookie):
    req = urllib.request.Request(berth.endpoint + path, headers={"Cookie": cookie})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(req, timeout=10) as r:
            return r.status, dict(r.headers.items()), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers.items()), e.read().decode()


def test_sign_out_invalidates_the_session(berth, page):
    sign_in(page, berth)
    session = {c["name"]: c["value"] for c in page.context.cookies()}["berth_console"]
    cookie = f"berth_console={session}"
    page.goto(berth.endpoint + "/console/clusters")
    token = page.locator("form[action='/console/clusters'] input[name=csrf]").input_value()
    assert get_page(berth, "/console", cookie)[0] == 200
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(berth.endpoint + "/console/signin")
    assert "berth_console" not in {c["name"] for c in page.context.cookies()}
    # The old cookie is dead on the server, not just forgotten by the browser.
    status, headers, _ = get_page(berth, "/console", cookie)
    assert status == 303 and headers["location"] == "/console/signin"
    status, _, body = post_form(berth, "/console/clusters", {"clusterName": "after-signout", "csrf": token},
                                cookie=cookie)
    assert status == 403
    assert not any(a.endswith("/after-signout") for a in berth.client("ecs").list_clusters()["clusterArns"])


def test_a_deleted_access_key_ends_its_sessions(berth, page):
    creds = user_creds(berth, "temp", allow("ecs:*"))
    sign_in(page, berth, creds)
    berth.client("iam").delete_access_key(UserName="temp", AccessKeyId=creds.access_key_id)
    page.goto(berth.endpoint + "/console/clusters")
    assert page.url.endswith("/console/signin")


def image_is_not_blank(path):
    img = Image.open(path).convert("L")
    stat = ImageStat.Stat(img)
    colours = len(img.getcolors(maxcolors=1 << 16) or range(1 << 16))
    return stat.stddev[0] > 8 and colours > 16


def test_screenshots_of_the_main_pages(berth, browser, tmp_path):
    sm = berth.client("secretsmanager")
    secret_arn = sm.create_secret(Name="registry-creds-with-a-rather-long-name/for/wrapping",
                                  Description="registry credentials", SecretString=SECRET_VALUE_MARKER,
                                  Tags=[{"Key": "env", "Value": "test"}])["ARN"]
    make_role(berth)
    ecs = berth.client("ecs")
    ecs.create_cluster(clusterName="screens")
    ecs.register_task_definition(**json.loads(task_definition_json("screens-app", secret_arn)))
    ecs.run_task(cluster="screens", taskDefinition="screens-app", launchType="FARGATE",
                 networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-12345678"]}})
    shots_dir = tmp_path / "screenshots"
    shots_dir.mkdir()
    pages = {
        "overview": "/console",
        "task-definitions": "/console/task-definitions",
        "tasks": "/console/tasks?cluster=screens",
        "secrets": "/console/secrets",
        "doctor": "/console/doctor?taskDefinition=screens-app",
    }
    for width in (1280, 390):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        sign_in(page, berth)
        for name, path in pages.items():
            started = time.time()
            resp = page.goto(berth.endpoint + path)
            elapsed = time.time() - started
            assert resp.status == 200, (name, page.content())
            assert elapsed < 3.0, (name, elapsed)
            assert_accessible_basics(page)
            assert no_horizontal_overflow(page), (name, width, page.evaluate(
                "() => [document.documentElement.scrollWidth, window.innerWidth]"))
            shot = shots_dir / f"{name}-{width}.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 5_000, (shot, shot.stat().st_size)
            with Image.open(shot) as img:
                assert img.size[0] == width, img.size
            assert image_is_not_blank(shot), shot
            assert SECRET_VALUE_MARKER not in page.content()
        context.close()
    keep = os.environ.get("BERTH_CONSOLE_SCREENSHOTS")
    if keep:
        os.makedirs(keep, exist_ok=True)
        for f in shots_dir.iterdir():
            shutil.copy2(f, os.path.join(keep, f.name))
    assert len(list(shots_dir.iterdir())) == 10


def test_escaping_of_user_strings(berth, page):
    evil = '<img src=x onerror="document.title=1">'
    berth.client("secretsmanager").create_secret(Name="xss", Description=evil, SecretString="v",
                                                 Tags=[{"Key": "k", "Value": evil}])
    berth.client("ecs").register_task_definition(
        family="xss", containerDefinitions=[{"name": "app", "image": "busybox", "memory": 64,
                                             "environment": [{"name": "X", "value": evil}]}])
    sign_in(page, berth)
    for path in ("/console/secrets", "/console/task-definition?taskDefinition=xss",
                 "/console/tasks?cluster=" + urllib.parse.quote(evil)):
        page.goto(berth.endpoint + path)
        assert page.locator("img").count() == 0, path
        assert "document.title=1" in page.inner_text("main") or path.startswith("/console/tasks"), path
