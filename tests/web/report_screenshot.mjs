// Takes the README's screenshots of a report: node report_screenshot.mjs REPORT.html OUT.png [SECTION]
// (SECTION: a section id such as "episode", scrolled to the top of the picture).
import path from "node:path";
import { chromium } from "playwright-core";
const [report, out, section] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
await page.goto("file://" + path.resolve(report));
await page.waitForFunction(() => document.querySelectorAll(".js-plotly-plot").length >= 10);
if (section) await page.locator("section#" + section).scrollIntoViewIfNeeded();
if (section) await page.evaluate((id) => document.getElementById(id).scrollIntoView(), section);
await page.waitForTimeout(1000);
await page.screenshot({ path: out });
await browser.close();
