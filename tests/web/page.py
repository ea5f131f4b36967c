"""Drives the web app in a real headless Chromium (Debian's, through Playwright) for
tests/web.rs, and prints what the page showed as one JSON object on stdout.

    page.py --base-url URL --email E --password P --from YYYY-MM-DD --to YYYY-MM-DD
            --artifacts DIR [--chromium /usr/bin/chromium]

Signs in, shows the day charts of the range, reads every chart's table (the exact values
the page plotted, from data-value), clicks the steps chart and then a row's Explain button
and reads the explanation, moves the phone above the watch and waits until the page says the
charts were recomputed, reads them again, acknowledges an insight if there is one, opens the
shares and the first share's access log, imports an export through the form when given one
and reads its report, and signs out. A screenshot of each step goes to
the artifacts folder. Any console error or warning, page error or failed request of the app
fails the run (a Content-Security-Policy violation is a console error). Exit status 0 only
when every step passed; the comparison with the API's numbers is the Rust test's.
"""

import argparse
import json
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

STEP_TIMEOUT_MS = 20_000
RECOMPUTE_TIMEOUT_MS = 60_000


def read_tables(page):
    """Every chart's table: {type: [[period_start, value as the page holds it]]}."""
    return page.eval_on_selector_all(
        "table.values",
        """tables => Object.fromEntries(tables.map(t => [t.dataset.type,
            [...t.querySelectorAll('tbody tr')].map(r => [r.dataset.periodStart, r.dataset.value])]))""",
    )


def read_explanation(page):
    """The explain panel: its bucket, value and every sample row."""
    return page.eval_on_selector(
        "#explain",
        """panel => ({
            type: panel.dataset.type,
            period_start: panel.dataset.periodStart,
            value: panel.querySelector('[data-value]')?.dataset.value ?? null,
            samples: [...panel.querySelectorAll('table.samples tbody tr')].map(r => ({
                device_id: r.dataset.deviceId, device_name: r.dataset.deviceName,
                status: r.dataset.status, counted_value: r.dataset.countedValue})),
            counted: panel.querySelector('dd[data-status=kept]').textContent,
            trimmed: panel.querySelector('dd[data-status=trimmed]').textContent,
        })""",
    )


def device_order(page):
    return page.eval_on_selector_all(
        "#device-list li[data-device-id]",
        "items => items.map(i => i.querySelector('.device-name').textContent)",
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--from", dest="start", required=True)
    parser.add_argument("--to", dest="end", required=True)
    parser.add_argument("--artifacts", required=True)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--import-file", help="an export to import through the page's form")
    args = parser.parse_args()
    artifacts = Path(args.artifacts)
    artifacts.mkdir(parents=True, exist_ok=True)
    problems = []
    report = {"screenshots": []}

    def shot(page, name, full_page=False):
        path = artifacts / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        report["screenshots"].append(str(path))

    with sync_playwright() as playwright:
        # A browser that does not start fails the run: no fallback, no skip.
        browser = playwright.chromium.launch(
            executable_path=args.chromium, args=["--no-sandbox"], timeout=STEP_TIMEOUT_MS
        )
        report["browser"] = browser.version
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
        page = context.new_page()
        page.set_default_timeout(STEP_TIMEOUT_MS)
        page.on(
            "console",
            lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None,
        )
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} {r.failure}"))

        try:
            # Sign in.
            page.goto(args.base_url + "/")
            page.wait_for_selector("#signin-form", state="visible")
            shot(page, "signin")
            page.get_by_label("Email").fill(args.email)
            page.get_by_label("Password").fill(args.password)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_selector("#charts", state="visible")
            report["token_in_session_storage"] = page.evaluate(
                "() => sessionStorage.getItem('healthpipe.session') !== null"
            )
            report["local_storage_keys"] = page.evaluate("() => Object.keys(localStorage)")

            # The day charts of the range, through the form.
            page.select_option("#range-form select[name=period]", "day")
            page.fill("#range-form input[name=from]", args.start)
            page.fill("#range-form input[name=to]", args.end)
            page.get_by_role("button", name="Show").click()
            page.wait_for_function(
                f"() => location.hash.includes('from={args.start}') && "
                "document.querySelector('#charts-status').dataset.state === 'idle' && "
                "document.querySelectorAll('table.values[data-type=STEPS] tbody tr').length > 0"
            )
            report["before"] = read_tables(page)
            report["devices_before"] = device_order(page)
            report["charts_drawn"] = page.eval_on_selector_all(".chart canvas", "c => c.length")

            # A click on the steps chart explains the bucket under the pointer.
            page.locator(".chart[data-type=STEPS] .u-over").click()
            page.wait_for_function("() => document.querySelector('#explain').dataset.state === 'shown'")
            report["chart_click"] = read_explanation(page)["period_start"]

            # A row's Explain button: the third day of the range.
            rows = page.locator("table.values[data-type=STEPS] tbody tr")
            row = rows.nth(2)
            bucket = row.get_attribute("data-period-start")
            row.get_by_role("button").click()
            page.wait_for_function(
                "b => { const p = document.querySelector('#explain');"
                " return p.dataset.state === 'shown' && p.dataset.periodStart === b; }",
                arg=bucket,
            )
            report["explain"] = read_explanation(page)
            shot(page, "overview")
            page.locator("#explain").scroll_into_view_if_needed()
            shot(page, "charts")

            # Move the phone above the watch; the page waits for the recomputation itself.
            page.get_by_role("button", name="Move web-phone up").click()
            page.wait_for_function(
                "() => document.querySelector('#devices-status').dataset.state === 'done' && "
                "document.querySelector('#devices-status').dataset.moves === '1'",
                timeout=RECOMPUTE_TIMEOUT_MS,
            )
            report["recompute_state"] = page.eval_on_selector("#charts-status", "s => s.dataset.state")
            report["after"] = read_tables(page)
            report["devices_after"] = device_order(page)
            page.wait_for_function(
                "b => { const p = document.querySelector('#explain');"
                " return p.dataset.state === 'shown' && p.dataset.periodStart === b; }",
                arg=bucket,
            )
            report["explain_after"] = read_explanation(page)
            shot(page, "devices-moved")

            # Insights: acknowledge the first one not acknowledged yet.
            page.get_by_role("link", name="Insights").click()
            page.wait_for_function("() => document.querySelector('#insights-status').dataset.state === 'idle'")
            report["insights"] = page.eval_on_selector_all(
                "#insight-list li", "items => items.map(i => [i.dataset.insightId, i.dataset.acknowledged])"
            )
            report["acknowledged"] = None
            pending = page.locator("#insight-list li[data-acknowledged=false]")
            if pending.count() > 0:
                first = pending.first
                insight_id = first.get_attribute("data-insight-id")
                first.get_by_role("button", name="Acknowledge").click()
                page.wait_for_selector(f"#insight-list li[data-insight-id='{insight_id}'][data-acknowledged=true]")
                report["acknowledged"] = insight_id
            shot(page, "insights")

            # Shares and the first one's access log.
            page.get_by_role("link", name="Shares").click()
            page.wait_for_function("() => document.querySelector('#shares-status').dataset.state === 'idle'")
            report["shares"] = page.eval_on_selector_all(
                "table.shares tbody tr", "rows => rows.map(r => [r.dataset.shareId, r.dataset.state])"
            )
            page.locator("table.shares tbody tr").first.get_by_role("button", name="Access log").click()
            page.wait_for_function("() => document.querySelector('#access-log').dataset.state === 'shown'")
            report["access_log"] = page.eval_on_selector_all(
                "table.access tbody tr", "rows => rows.map(r => [r.dataset.action, r.dataset.outcome])"
            )
            shot(page, "shares", full_page=True)

            # Import an export through the form and read the report the page shows.
            if args.import_file:
                page.get_by_role("link", name="Import").click()
                page.set_input_files("#import-file", args.import_file)
                page.locator("#import-form button[type=submit]").click()
                page.wait_for_selector(
                    "#import-current section.import[data-status=completed] p.import-summary",
                    timeout=RECOMPUTE_TIMEOUT_MS,
                )
                report["import"] = page.eval_on_selector(
                    "#import-current section.import",
                    """box => ({
                        id: box.dataset.importId,
                        summary: {...box.querySelector('p.import-summary').dataset},
                        types: [...box.querySelectorAll('table.import-types tbody tr')].map(r => ({...r.dataset})),
                        devices: [...box.querySelectorAll('table:not(.import-types) tbody tr')].map(r => r.textContent),
                    })""",
                )
                shot(page, "import", full_page=True)

            # Sign out: the token is gone from the tab.
            page.get_by_role("button", name="Sign out").click()
            page.wait_for_selector("#signin-form", state="visible")
            report["token_after_sign_out"] = page.evaluate("() => sessionStorage.getItem('healthpipe.session')")
        except Exception as error:  # noqa: BLE001 - every failure is reported, with a screenshot
            problems.append(f"step failed: {error}")
            try:
                shot(page, "failure", full_page=True)
            except Exception:  # noqa: BLE001
                pass
        browser.close()

    report["problems"] = problems
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
