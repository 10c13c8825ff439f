"""The console's main flows in real headless Chromium: sign in with a key, start a sync and
see it finish, review with the keyboard (approve, undo, edit a target), bulk-accept, publish
and see canonical records change, accept a drift event, roll back a version; a reader sees no
decision buttons. Each page is saved as a PNG (see ``browser.screenshots``)."""

from __future__ import annotations

import re

from autonomos.services import mappings, records, review
from autonomos.services.worker import run_worker
from tests.console.browser import browser, live_url, screenshots  # noqa: F401 - fixtures
from tests.console.conftest import new_tenant
from tests.conftest import wait_for

WIDTH, HEIGHT = 1280, 800  # a laptop


def sign_in(page, url: str, key: str) -> None:
    page.goto(f"{url}/console/login")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/console/connections$"))


def flash(page) -> str:
    return page.locator("#flash").inner_text()


def key(page, name: str) -> None:
    """Press a key that submits a form, and wait until the next page has loaded (scripts included)."""
    with page.expect_navigation():
        page.keyboard.press(name)


def test_console_walkthrough_in_chromium(rt, browser, live_url, screenshots):  # noqa: F811
    tenant = new_tenant(rt, "console-browser")
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    page = context.new_page()
    shot = lambda name, full=True: page.screenshot(path=str(screenshots / f"{name}.png"), full_page=full)  # noqa: E731

    # sign in: the Secure session cookie works over http://127.0.0.1 (a secure context in Chromium)
    page.goto(f"{live_url}/console/login")
    shot("login")
    sign_in(page, live_url, tenant.keys["admin"])
    cookie = next(c for c in context.cookies() if c["name"] == "aos_console")
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    assert "Signed in as a admin" in flash(page) or "Signed in" in flash(page)

    # start a sync and see it finish (the page follows the run live and reloads at its end)
    page.get_by_role("button", name="Start sync of crm").click()
    assert "Sync of crm started" in flash(page)
    run_worker(rt, burst=True)
    page.locator("[data-testid=last-status]", has_text="succeeded").wait_for(timeout=30_000)
    shot("connections")

    # the matcher proposes; review with the keyboard
    review.propose_stream(rt, tenant.id, "crm", "contacts", actor="test")
    page.goto(f"{live_url}/console/review")
    shot("review", full=False)
    first = page.locator("li.proposal").first
    field = first.locator("h3").inner_text()
    page.keyboard.press("j")
    page.keyboard.press("k")
    key(page, "a")
    assert f"Approved {field}" in flash(page)
    assert review.list_queue(rt, tenant.id, status="accepted")[0].source_field == field
    key(page, "u")  # undo the last decision
    assert f"Reopened {field}" in flash(page)
    assert not review.list_queue(rt, tenant.id, status="accepted")
    key(page, "a")
    assert f"Approved {field}" in flash(page)

    # publish the one approved field: canonical records appear with it
    page.goto(f"{live_url}/console/mappings")
    page.get_by_role("button", name="Publish crm / contacts").click()
    assert "Published contacts" in flash(page)
    v1 = mappings.list_versions(rt, tenant.id)
    assert [v.version for v in v1] == [1] and len(v1[0].fields) == 1
    entity = v1[0].entity
    page.goto(f"{live_url}/console/records?entity={entity}")
    assert page.locator("tbody tr").count() == 3
    before = {r["record_key"]: r["data"] for r in records.list_records(rt, tenant.id, entity)}

    # choose another target with "e", then bulk-accept the rest and publish again
    page.goto(f"{live_url}/console/review")
    second = page.locator("li.proposal.status-open").first
    second.focus()
    candidate = second.locator(".cands code").first.inner_text()
    page.keyboard.press("e")
    page.keyboard.type(candidate)
    key(page, "Enter")
    assert "Approved" in flash(page) and candidate in flash(page)
    page.get_by_label(re.compile("Accept every open field")).fill("0")
    page.get_by_role("button", name="Bulk accept").click()
    assert "Accepted" in flash(page)
    page.goto(f"{live_url}/console/mappings")
    page.get_by_role("button", name="Publish crm / contacts").click()
    assert "Published contacts" in flash(page)
    after = {r["record_key"]: r["data"] for r in records.list_records(rt, tenant.id, entity)}
    assert after != before and all(len(after[k]) > len(before[k]) for k in before)
    page.goto(f"{live_url}/console/records?entity={entity}")
    page.locator("tbody tr a").first.click()
    page.get_by_role("heading", name="Change history").wait_for()
    shot("record")

    # the source adds a column: the next sync reports drift; accept it
    tenant.path.write_text(tenant.path.read_text().replace("Phone\n", "Phone,Region\n", 1)
                           .replace("0001\n", "0001,EMEA\n").replace("0102\n", "0102,AMER\n")
                           .replace("0003\n", "0003,EMEA\n"))
    page.goto(f"{live_url}/console/connections")
    page.get_by_role("button", name="Start sync of crm").click()
    run_worker(rt, burst=True)
    page.goto(f"{live_url}/console/drift")
    shot("drift")
    accept = page.get_by_role("button", name=re.compile(r"^Accept"))
    assert accept.count() >= 1
    accept.first.click()
    assert "accepted" in flash(page)

    # roll back to v1
    page.goto(f"{live_url}/console/mappings")
    page.get_by_role("button", name="Roll back to v1").first.click()
    assert "back to the content of v1" in flash(page)
    shot("mappings")
    current = mappings.get_version(rt, tenant.id, "crm", "contacts", entity)
    assert current.version == 3 and current.fields == v1[0].fields

    for name in ("lineage", "quarantine"):
        page.goto(f"{live_url}/console/{name}")
        shot(name)
    page.goto(f"{live_url}/console/lineage")
    assert page.locator("svg g.node").count() >= 3
    context.close()

    # a reader sees the queue but no decision buttons
    reader = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    rpage = reader.new_page()
    sign_in(rpage, live_url, tenant.keys["reader"])
    rpage.goto(f"{live_url}/console/review?status=")
    assert rpage.locator("li.proposal").count() > 0
    assert rpage.get_by_role("button", name=re.compile("^(Approve|Reject|Bulk accept|Reopen)")).count() == 0
    reader.close()
    assert len(list(screenshots.glob("*.png"))) >= 6
