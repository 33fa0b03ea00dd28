"""The review app end to end in real Chromium, on SQLite and PostgreSQL.

A synthetic 2,000-patient night goes through the nightly steps into a store; a coordinator signs
in, finds a patient by MRN, pages the list, clears items with "Save and next" keeping the filter,
assigns and bulk-dismisses, reads highlighted evidence and safety alerts in words and records
decisions; the nightly run then repeats on the same data and on data with new evidence, and the
decisions must still be there (with the expected re-flag). An admin sees the trend charts.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from pipelines.store import Store
from pipelines.store.publish import item_id_for
from pipelines.store.testing import BACKENDS, temporary_store_url
from pipelines.store.worklist import WorklistQuery
from review.auth import add_user
from review.browser import launch_chromium, serve_in_thread
from tests.review.browser_cohort import (
    AS_OF,
    AS_OF_LATER,
    SNOOZE_UNTIL,
    BrowserCohort,
    build_cohort,
    run_night,
)

PASSWORD = "browser test passphrase"


@dataclass(frozen=True, slots=True)
class LiveApp:
    base_url: str
    store_url: str


@pytest.fixture(scope="session")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> BrowserCohort:
    return build_cohort(tmp_path_factory.mktemp("browser-cohort"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for this module only, closed before the next module runs.

    Playwright's sync API marks its asyncio loop as the thread's running loop between calls
    for as long as it is open; a session-wide browser left it marked for every later module,
    and there `asyncio.run` (Prefect flows, anyio) refused to start. Closing it here ends the
    loop, and the check below keeps it that way whatever order the tests run in.
    """
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()
    assert asyncio._get_running_loop() is None, "Playwright left an event loop running"


@pytest.fixture(scope="module", params=BACKENDS, ids=list(BACKENDS))
def live(
    request: pytest.FixtureRequest, cohort: BrowserCohort, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveApp]:
    """The first night's worklist in a fresh store, two users, and the app serving it."""
    directory = tmp_path_factory.mktemp(f"browser-{request.param}")
    with temporary_store_url(request.param, directory) as url:
        run_night(cohort.original, AS_OF, url)
        store = Store.connect(url)
        add_user(store, "coord", "coordinator", PASSWORD)
        add_user(store, "boss", "admin", PASSWORD)
        store.close()
        with serve_in_thread(url) as base_url:
            yield LiveApp(base_url, url)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    context.set_default_timeout(15_000)
    opened = context.new_page()
    yield opened
    context.close()


def sign_in(page: Page, base_url: str, username: str, start: str = "/") -> None:
    page.goto(base_url + start)
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    expect(page).to_have_url(base_url + start)


def decide(
    page: Page, base_url: str, patient_id: str, screen: str, action: str, **fields: str
) -> None:
    page.goto(f"{base_url}/patients/{patient_id}")
    section = page.locator(f"#item-{item_id_for(patient_id, screen)}")
    section.locator(f"input[name=action][value={action}]").check()
    if "reason" in fields:
        section.locator("select[name=reason]").select_option(fields["reason"])
    if "snooze_until" in fields:
        section.locator("input[name=snooze_until]").fill(fields["snooze_until"])
    section.locator("form.decision textarea[name=comment]").fill(fields.get("comment", ""))
    section.get_by_role("button", name="Save", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/patients/{patient_id}#item-"))
    expect(section.locator(".history")).to_contain_text(action)


def listed_items(page: Page) -> set[tuple[str, str]]:
    patients = page.locator("table.worklist tbody [data-col=patient]").all_inner_texts()
    screens = page.locator("table.worklist tbody [data-col=screen]").all_inner_texts()
    return set(zip(patients, screens, strict=True))


def status_of(page: Page, base_url: str, patient_id: str, screen: str) -> str:
    page.goto(f"{base_url}/patients/{patient_id}")
    section = page.locator(f"#item-{item_id_for(patient_id, screen)}")
    return section.locator("[data-status]").first.get_attribute("data-status") or ""


def test_anonymous_visitors_are_sent_to_login_and_come_back_after(
    live: LiveApp, page: Page
) -> None:
    for path in ("/", "/admin", "/patients/anyone", "/admin/audit"):
        page.goto(live.base_url + path)
        expect(page).to_have_url(re.compile(r"/login\?next="))
        expect(page.locator("input[name=password]")).to_be_visible()
    api = page.request.get(live.base_url + "/export.csv", max_redirects=0)
    assert api.status in (303, 401)
    sign_in(page, live.base_url, "coord", start="/?screen=pad")
    expect(page.locator("h1")).to_contain_text("Worklist")


def test_a_coordinator_cannot_reach_admin_pages(live: LiveApp, page: Page) -> None:
    sign_in(page, live.base_url, "coord")
    expect(page.locator("header nav")).not_to_contain_text("Audit")
    for path in ("/admin", "/admin/audit"):
        response = page.goto(live.base_url + path)
        assert response is not None and response.status == 403


def test_coordinator_decisions_survive_reruns_and_new_evidence_reflags(
    live: LiveApp, page: Page, cohort: BrowserCohort, browser: Browser
) -> None:
    base = live.base_url
    sign_in(page, base, "coord")
    rows = page.locator("table.worklist tbody tr")
    expect(rows.first).to_be_visible()
    # Filter by screen, then search by patient id.
    page.select_option("select[name=screen]", "pad")
    page.click("button:has-text('Apply')")
    expect(page).to_have_url(re.compile(r"screen=pad"))
    screens = page.locator("table.worklist tbody [data-col=screen]").all_inner_texts()
    assert screens and set(screens) == {"pad"}
    page.fill("input[name=q]", cohort.reflag_patient)
    page.click("button:has-text('Apply')")
    expect(rows).to_have_count(1)
    rows.first.locator("a").first.click()
    expect(page).to_have_url(re.compile(rf"/patients/{cohort.reflag_patient}"))
    expect(page.locator(f"#item-{item_id_for(cohort.reflag_patient, 'pad')}")).to_be_visible()
    # Evidence with the matched words highlighted inside the note sentence.
    page.goto(f"{base}/patients/{cohort.highlight_patient}")
    expect(page.locator("table.evidence mark").first).to_be_visible()
    assert cohort.highlight_text in page.locator("table.evidence mark").all_inner_texts()

    decide(
        page,
        base,
        cohort.reflag_patient,
        "pad",
        "dismissed",
        reason="mimic",
        comment="neurogenic claudication per spine clinic",
    )
    decide(page, base, cohort.dismissed_patient, "pad", "dismissed", reason="evidence_wrong")
    snoozed_screen = _screen_of(live, cohort.snoozed_patient)
    decide(
        page,
        base,
        cohort.snoozed_patient,
        snoozed_screen,
        "snoozed",
        snooze_until=SNOOZE_UNTIL.isoformat(),
    )
    page.goto(base + "/")
    worked = {
        (cohort.reflag_patient, "pad"),
        (cohort.dismissed_patient, "pad"),
        (cohort.snoozed_patient, snoozed_screen),
    }
    assert not worked & listed_items(page), "decided items leave the to-do view"

    run_night(cohort.original, AS_OF, live.store_url)  # same data again
    assert status_of(page, base, cohort.reflag_patient, "pad") == "dismissed"
    assert status_of(page, base, cohort.dismissed_patient, "pad") == "dismissed"
    assert status_of(page, base, cohort.snoozed_patient, snoozed_screen) == "snoozed"

    run_night(cohort.with_new_abi, AS_OF_LATER, live.store_url)  # new ABI
    assert status_of(page, base, cohort.reflag_patient, "pad") == "open"
    section = page.locator(f"#item-{item_id_for(cohort.reflag_patient, 'pad')}")
    expect(section).to_contain_text("re-flagged")
    expect(section.locator(".history")).to_contain_text("neurogenic claudication per spine clinic")
    assert status_of(page, base, cohort.dismissed_patient, "pad") == "dismissed"
    assert status_of(page, base, cohort.snoozed_patient, snoozed_screen) == "snoozed"
    page.goto(base + "/?screen=pad")
    expect(page.locator("table.worklist tbody tr", has_text=cohort.reflag_patient)).to_contain_text(
        "re-flagged"
    )
    _admin_sees_dispositions(browser, base)


def _screen_of(live: LiveApp, patient_id: str) -> str:
    store = Store.connect(live.store_url)
    try:
        items = [i for i in store.patient_items(patient_id) if i["screen"] != "pad"]
        return str(items[0]["screen"])
    finally:
        store.close()


def _admin_sees_dispositions(browser: Browser, base_url: str) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        sign_in(page, base_url, "boss", start="/admin")
        table = page.locator("table.yield")
        expect(table).to_be_visible()
        dismissed = table.locator("tbody tr", has_text="pad.").locator("td[data-col=dismissed]")
        assert sum(int(t) for t in dismissed.all_inner_texts()) >= 2
    finally:
        context.close()


def _view_rows(live: LiveApp, query: WorklistQuery) -> list[dict[str, object]]:
    store = Store.connect(live.store_url)
    try:
        return store.worklist_view(query).to_dicts()
    finally:
        store.close()


def test_a_coordinator_clears_a_night_at_volume(live: LiveApp, page: Page) -> None:
    base = live.base_url
    sign_in(page, base, "coord")
    heading = page.locator("h1")
    expect(heading).to_contain_text("page 1 of")
    total = len(_view_rows(live, WorklistQuery()))
    assert total > 200, "a 2,000-patient night fills several pages"
    rows = page.locator("table.worklist tbody tr")
    expect(rows).to_have_count(50)
    expect(heading).to_contain_text(f"{total} items")

    # Find a patient by MRN: the row shows the synthetic name, MRN, age and sex.
    target = _view_rows(live, WorklistQuery(screen="may_thurner"))[0]
    page.fill("input[name=q]", str(target["mrn"]))
    page.click("button:has-text('Apply')")
    expect(rows.first.locator("[data-col=mrn]")).to_have_text(str(target["mrn"]))
    expect(rows.first).to_contain_text(str(target["name"]))
    for row in rows.all():
        expect(row.locator("[data-col=patient]")).to_have_text(str(target["patient_id"]))

    # Page through the whole list.
    page.goto(base + "/")
    ticks = page.locator("table.worklist tbody input[type=checkbox]")
    first_page = {ticks.nth(n).get_attribute("value") for n in range(ticks.count())}
    page.click("a[rel=next]")
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(heading).to_contain_text("page 2 of")
    expect(rows).to_have_count(50)
    second_page = {ticks.nth(n).get_attribute("value") for n in range(ticks.count())}
    assert len(first_page | second_page) == 100, "two pages, no item twice"

    # Filter, sort, then clear 5 items with "Save and next": the filter stays on.
    page.goto(base + "/?screen=cecs&sort=patient&dir=desc")
    cecs = [
        r["item_id"]
        for r in _view_rows(live, WorklistQuery(screen="cecs", sort="patient", desc=True))
    ]
    rows.first.locator("a.patient").click()
    for n in range(5):
        expect(page).to_have_url(re.compile(rf"screen=cecs&sort=patient&dir=desc#item-{cecs[n]}$"))
        section = page.locator(f"#item-{cecs[n]}")
        section.locator("input[name=action][value=referred]").check()
        section.get_by_role("button", name="Save and next").click()
    expect(page).to_have_url(re.compile(rf"#item-{cecs[5]}$"))

    # Assign the item on screen to myself; it shows under "My items".
    section = page.locator(f"#item-{cecs[5]}")
    section.locator("form.assign select[name=assignee]").select_option("coord")
    section.get_by_role("button", name="Assign").click()
    expect(section.locator("[data-col=assigned]")).to_have_text("coord")
    page.get_by_role("link", name="← Worklist").click()
    expect(page).to_have_url(re.compile(r"/\?screen=cecs&sort=patient&dir=desc"))
    page.get_by_role("link", name="My items").click()
    expect(rows).to_have_count(1)
    expect(rows.first.locator("[data-col=assigned]")).to_have_text("coord")

    # Bulk: assign two rows to another coordinator, then dismiss them with one reason.
    page.goto(base + "/?screen=cecs&sort=patient&dir=desc")
    ticked = [rows.nth(1), rows.nth(2)]
    for row in ticked:
        row.locator("input[type=checkbox]").check()
    page.select_option("fieldset.bulk-actions select[name=assignee]", "boss")
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.locator("p.notice")).to_contain_text("2 items changed")
    expect(rows.nth(1).locator("[data-col=assigned]")).to_have_text("boss")
    for row in (rows.nth(1), rows.nth(2)):
        row.locator("input[type=checkbox]").check()
    page.select_option("fieldset.bulk-actions select[name=reason]", "not_indicated")
    page.get_by_role("button", name="Dismiss").click()
    expect(page.locator("p.notice")).to_contain_text("2 items changed")
    left = _view_rows(live, WorklistQuery(screen="cecs"))
    assert len(left) == len(cecs) - 5 - 2


def test_the_safety_alert_is_stated_in_words_at_the_top_of_the_item(
    live: LiveApp, page: Page
) -> None:
    alerted = _view_rows(live, WorklistQuery(alert="any", status="all"))[0]
    sign_in(page, live.base_url, "coord")
    page.goto(f"{live.base_url}/patients/{alerted['patient_id']}")
    box = page.locator(f"#item-{alerted['item_id']} .alerts")
    expect(box).to_be_visible()
    expect(box.locator(".alert-sentence")).to_contain_text("compression", ignore_case=True)


def test_an_admin_sees_the_trend_charts(live: LiveApp, page: Page) -> None:
    sign_in(page, live.base_url, "boss", start="/admin")
    charts = page.locator("figure.trend svg.chart")
    expect(charts).to_have_count(4)
    for n in range(4):
        box = charts.nth(n).bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 80
        assert charts.nth(n).locator("path").count() > 5
    expect(page.locator("figure.trend figcaption").first).to_have_text("Items flagged per screen")
