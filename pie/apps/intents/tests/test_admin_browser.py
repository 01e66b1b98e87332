"""
The staff pages in a real browser: Selenium drives Debian's chromium (headless) through
chromium-driver against a live PIE (pytest-django's live_server, Django's
StaticLiveServerTestCase underneath, so the admin's CSS is served as in production).

Without chromium and chromedriver on PATH these tests skip with a message saying what to
install, unless PIE_REQUIRE_BROWSER=1 (CI) makes that a failure. With PIE_SCREENSHOTS_DIR set
they save what the browser shows there as PNG files (docs/staff.rst names them).
"""

import csv
import datetime
import io
import os
import shutil
import time
import uuid
from pathlib import Path

import pytest

from pie.apps.core.models import User
from pie.apps.intents.services import program_update
from pie.apps.intents.tests.factories import ProgramIntentFactory, reason

pytestmark = pytest.mark.django_db(transaction=True)

PROGRAM = uuid.UUID("3a0fd5a0-f5c0-4b1f-a3b8-f0f4c6a7e9d1")
OTHER = uuid.UUID("0b8d6c2e-7d4a-4c59-9f1e-2a3b4c5d6e7f")
TITLE = "Data Science Foundations"
PASSWORD = "browser-test-password"
WIDTH, HEIGHT = 1280, 900
WAIT_SECONDS = 10


def _require_browser() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if chromium and chromedriver:
        return chromium, chromedriver
    message = (
        "No browser for the browser tests: install chromium and chromium-driver "
        "(apt-get install chromium chromium-driver)"
    )
    if os.environ.get("PIE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{message} (PIE_REQUIRE_BROWSER=1)")
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium, chromedriver = _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI containers run as root
        "--disable-dev-shm-usage",  # a container's /dev/shm is small
        f"--window-size={WIDTH},{HEIGHT}",
    ):
        options.add_argument(argument)
    downloads = tmp_path_factory.mktemp("downloads")
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    # A machine whose ports are shared between people may pin chromedriver's port.
    service = Service(chromedriver, port=int(os.environ.get("PIE_CHROMEDRIVER_PORT", "0")))
    driver = webdriver.Chrome(options=options, service=service)
    driver.downloads = downloads
    yield driver
    driver.quit()


@pytest.fixture
def staff_browser(browser, live_server):
    """The browser, signed in to the admin as a staff member through the login form."""
    from selenium.webdriver.common.by import By

    User.objects.create_superuser("staff", "staff@example.com", PASSWORD)
    browser.delete_all_cookies()
    browser.set_window_size(WIDTH, HEIGHT)
    browser.get(f"{live_server.url}/admin/login/")
    browser.find_element(By.ID, "id_username").send_keys("staff")
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    click_to_next_page(browser, browser.find_element(By.CSS_SELECTOR, "input[type=submit]"))
    assert "Site administration" in browser.title
    browser.live_server_url = live_server.url
    return browser


@pytest.fixture
def intents():
    at = datetime.datetime(2024, 1, 15, 9, 30, tzinfo=datetime.UTC)
    month = datetime.timedelta(days=31)
    for learner in (1, 2, 3):
        ProgramIntentFactory(lms_user_id=learner, program_uuid=PROGRAM, effective_timestamp=at)
    ProgramIntentFactory(
        lms_user_id=4,
        program_uuid=PROGRAM,
        certainty="CERTAIN_NO",
        reason=reason("CERTIFICATE_REVOKED"),
        effective_timestamp=at + month,
    )
    ProgramIntentFactory(
        lms_user_id=5, program_uuid=PROGRAM, certainty="MAYBE", effective_timestamp=at + 2 * month
    )
    ProgramIntentFactory(
        lms_user_id=1, program_uuid=OTHER, certainty="MAYBE", effective_timestamp=at
    )
    program_update(program_uuid=PROGRAM, title=TITLE, program_type="professional", updated=at)


# How many lines the tallest cell content of the result list spans: its text's height over
# the height of its tallest piece (about 1 on one line, 2 or more when it wraps).
LINES_PER_CELL = """
return Math.max(...[...document.querySelectorAll('#result_list td, #result_list th')].map(cell => {
  const range = document.createRange();
  range.selectNodeContents(cell);
  const rects = [...range.getClientRects()].filter(rect => rect.height > 0);
  if (!rects.length) return 0;
  const span = Math.max(...rects.map(r => r.bottom)) - Math.min(...rects.map(r => r.top));
  return span / Math.max(...rects.map(r => r.height));
}));
"""


def click_to_next_page(browser, element) -> None:
    """
    Click a link or a submit button and wait until the browser shows the next page, fully
    loaded: a click returns before a form's navigation has happened, and the old page would
    still answer.

    The old page is recognised by a mark on its window object, which the next document does
    not have. (Waiting for an element of the old page to go stale races the navigation:
    chromedriver may then answer that the node "does not belong to the document" instead.)
    While the browser is between documents a script may fail; the wait asks again.
    """
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    browser.execute_script("window.pieLeftPage = false;")
    element.click()
    WebDriverWait(browser, WAIT_SECONDS, ignored_exceptions=(WebDriverException,)).until(
        lambda driver: driver.execute_script(
            "return window.pieLeftPage === undefined && document.readyState === 'complete';"
        )
    )


def screenshot(browser, name: str) -> None:
    folder = os.environ.get("PIE_SCREENSHOTS_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(Path(folder) / f"{name}.png"))


def cells(browser, table_id: str) -> list[list[str]]:
    from selenium.webdriver.common.by import By

    return [
        [cell.text for cell in row.find_elements(By.CSS_SELECTOR, "td, th")]
        for row in browser.find_elements(By.CSS_SELECTOR, f"#{table_id} tbody tr")
    ]


def test_staff_opens_the_programs_overview_from_the_intent_list(staff_browser, intents):
    from selenium.webdriver.common.by import By

    staff_browser.get(f"{staff_browser.live_server_url}/admin/intents/programintent/")
    click_to_next_page(staff_browser, staff_browser.find_element(By.LINK_TEXT, "PROGRAMS OVERVIEW"))
    assert staff_browser.find_element(By.TAG_NAME, "h1").text == "Programs by learners' intent"
    assert cells(staff_browser, "programs") == [
        ["1", f"{PROGRAM}\n{TITLE}", "4", "3", "1", "1", "5"],
        ["2", str(OTHER), "0", "0", "0", "1", "1"],
    ]
    screenshot(staff_browser, "programs-overview")


def test_staff_searches_a_uuid_and_reads_the_program_page(staff_browser, intents):
    from selenium.webdriver.common.by import By

    staff_browser.get(f"{staff_browser.live_server_url}/admin/intents/programintent/programs/")
    staff_browser.find_element(By.ID, "program-search").send_keys(PROGRAM.hex.upper())
    click_to_next_page(
        staff_browser, staff_browser.find_element(By.CSS_SELECTOR, "input[value='Open program']")
    )

    assert staff_browser.find_element(By.TAG_NAME, "h1").text == TITLE
    assert staff_browser.find_element(By.ID, "program-uuid").text == str(PROGRAM)
    assert cells(staff_browser, "summary") == [["3", "1", "1", "5"]]
    chart = staff_browser.find_element(By.CSS_SELECTOR, "svg.pie-chart")
    assert chart.is_displayed() and chart.size["width"] > 600 and chart.size["height"] > 200
    assert len(chart.find_elements(By.TAG_NAME, "rect")) == 3 + 3  # 3 bars + 3 legend keys
    assert cells(staff_browser, "months") == [
        ["2024-01", "3", "0", "0"],
        ["2024-02", "0", "1", "0"],
        ["2024-03", "0", "0", "1"],
    ]
    assert cells(staff_browser, "reasons") == [
        ["BUNDLE_PURCHASE", "CERTAIN_YES", "3"],
        ["BUNDLE_PURCHASE", "MAYBE", "1"],
        ["CERTIFICATE_REVOKED", "CERTAIN_NO", "1"],
    ]
    screenshot(staff_browser, "program-page")


def test_staff_downloads_the_programs_learners_as_csv(staff_browser, intents):
    from selenium.webdriver.common.by import By

    staff_browser.get(
        f"{staff_browser.live_server_url}/admin/intents/programintent/programs/{PROGRAM}/"
    )
    staff_browser.find_element(By.ID, "export").click()
    downloaded = staff_browser.downloads / f"program-{PROGRAM}-learners.csv"
    deadline = time.monotonic() + WAIT_SECONDS
    while not downloaded.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert downloaded.exists(), f"no download in {WAIT_SECONDS}s"
    rows = list(csv.reader(io.StringIO(downloaded.read_text())))
    assert rows[0] == ["lms_user_id", "certainty", "reason", "effective_timestamp"]
    assert rows[1:] == [
        ["1", "CERTAIN_YES", "BUNDLE_PURCHASE", "2024-01-15T09:30:00Z"],
        ["2", "CERTAIN_YES", "BUNDLE_PURCHASE", "2024-01-15T09:30:00Z"],
        ["3", "CERTAIN_YES", "BUNDLE_PURCHASE", "2024-01-15T09:30:00Z"],
        ["4", "CERTAIN_NO", "CERTIFICATE_REVOKED", "2024-02-15T09:30:00Z"],
        ["5", "MAYBE", "BUNDLE_PURCHASE", "2024-03-17T09:30:00Z"],
    ]


def test_intent_list_reads_on_one_line_per_intent_at_1280_pixels(staff_browser, intents):
    from selenium.webdriver.common.by import By

    staff_browser.get(f"{staff_browser.live_server_url}/admin/intents/programintent/")
    screenshot(staff_browser, "intent-list-1280")
    rows = staff_browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    assert len(rows) == 6
    # Nothing cut off or scrolled sideways, and no cell wraps (a UUID used to take four lines).
    results = staff_browser.find_element(By.CSS_SELECTOR, "#changelist .results")
    assert staff_browser.execute_script(
        "return arguments[0].scrollWidth <= arguments[0].clientWidth", results
    )
    assert staff_browser.execute_script(LINES_PER_CELL) < 1.5

    first = rows[0].text
    assert "MAYBE" in first and "2024-03-17 09:30 UTC" in first
    assert rows[0].find_element(By.CSS_SELECTOR, "td.field-program").text == (
        f"{str(PROGRAM)[:8]}… {TITLE}"
    )
    program = rows[0].find_element(By.CSS_SELECTOR, "td.field-program a")
    assert program.get_attribute("title") == str(PROGRAM)  # the full UUID on hover
    page = staff_browser.find_element(By.ID, "content").text
    assert "retirement" in page
    assert "Certain: will complete" not in page
    assert not staff_browser.find_elements(By.NAME, "action")  # no bulk actions, so no delete
    assert not staff_browser.find_elements(By.PARTIAL_LINK_TEXT, "Delete")
