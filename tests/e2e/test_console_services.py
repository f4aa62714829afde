"""The console's services pages in headless Chromium: a cluster's services (counts, task
definition, deployments with their rollout state, the latest event) and one service's detail
(placement, deployments, events), asked as the signed-in principal: the same IAM decides as in
the API."""

import time

from helpers import allow, user_creds
from test_console import ACCOUNT, assert_accessible_basics, browser, nav, page, sign_in  # noqa: F401

UNPLACED = "was unable to place a task because no container instance met all of its requirements."


def make_services(berth):
    ecs = berth.client("ecs")
    ecs.create_cluster(clusterName="shop")
    ecs.register_task_definition(family="web", containerDefinitions=[{"name": "app", "image": "busybox", "memory": 64}])
    ecs.create_service(cluster="shop", serviceName="web", taskDefinition="web", desiredCount=2,
                       placementConstraints=[{"type": "memberOf", "expression": "attribute:stack == prod"}],
                       placementStrategy=[{"type": "spread", "field": "instanceId"}])
    ecs.create_service(cluster="shop", serviceName="agents", taskDefinition="web", schedulingStrategy="DAEMON")
    # No container instance: the scheduler records that it could not place web's tasks.
    deadline = time.time() + 60
    while time.time() < deadline:
        events = ecs.describe_services(cluster="shop", services=["web"])["services"][0]["events"]
        if any(UNPLACED in e["message"] for e in events):
            return
        time.sleep(0.2)
    raise AssertionError(f"no unplaced event\n{berth.log()}")


def test_services_list_and_detail(berth, page):  # noqa: F811
    make_services(berth)
    sign_in(page, berth)
    nav(page, "Services")
    page.get_by_label("Cluster").select_option("shop")
    page.get_by_role("button", name="Show services").click()
    assert page.locator("h2").first.inner_text() == "Services in shop"
    rows = page.locator("table tbody tr")
    assert rows.count() == 2
    web = page.locator("table tbody tr", has=page.get_by_role("link", name="web", exact=True))
    cells = [c.inner_text() for c in web.locator("th, td").all()]
    assert cells[:8] == ["web", "ACTIVE", "REPLICA", "2", "0", "0", "web:1", "PRIMARY IN_PROGRESS"], cells
    assert UNPLACED in cells[8], cells
    daemon = page.locator("table tbody tr", has=page.get_by_role("link", name="agents", exact=True))
    assert [c.inner_text() for c in daemon.locator("th, td").all()][2] == "DAEMON"
    assert_accessible_basics(page)

    page.get_by_role("link", name="web", exact=True).click()
    assert page.locator("h1").inner_text() == "Service web"
    details = page.locator("dl").inner_text()
    assert f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/shop/web" in details
    assert "memberOf attribute:stack == prod" in details and "spread instanceId" in details
    assert "berth doctor --service web --cluster shop" in page.content()
    deployments = page.locator("table").nth(0)
    row = [c.inner_text() for c in deployments.locator("tbody tr").first.locator("th, td").all()]
    assert row[0].startswith("ecs-svc/") and row[1:4] == ["PRIMARY", "web:1", "2"] and row[7] == "IN_PROGRESS", row
    assert row[8] == f"ECS deployment {row[0]} in progress."
    events = page.locator("table").nth(1).inner_text()
    assert "(service web) " + UNPLACED in events
    assert_accessible_basics(page)

    # A service that is not there.
    resp = page.goto(berth.endpoint + "/console/service?cluster=shop&service=nosuch")
    assert resp.status == 404 and "There is no service nosuch in cluster shop" in page.content()


def test_services_need_the_same_permissions_as_the_api(berth, page):  # noqa: F811
    make_services(berth)
    creds = user_creds(berth, "lister", allow(["ecs:ListClusters", "ecs:ListServices"]))
    sign_in(page, berth, creds)
    resp = page.goto(berth.endpoint + "/console/services?cluster=shop")
    assert resp.status == 403
    alert = page.get_by_role("alert").inner_text()
    assert alert.startswith(f"AccessDeniedException: User: arn:aws:iam::{ACCOUNT}:user/lister is not authorized "
                            "to perform: ecs:DescribeServices on resource: "
                            f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/shop/"), alert
    assert "PRIMARY" not in page.content()
    resp = page.goto(berth.endpoint + "/console/service?cluster=shop&service=web")
    assert resp.status == 403 and "ecs:DescribeServices" in page.get_by_role("alert").inner_text()
