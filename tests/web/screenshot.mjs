// Takes the README's screenshot of a running labeling app: node screenshot.mjs URL OUT.png
import { chromium } from "playwright-core";
const [url, out] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
await page.goto(url);
await page.waitForSelector("#left:not([disabled])", { timeout: 300000 });
await page.waitForFunction(() => [...document.querySelectorAll("video")].every((v) => v.readyState >= 3));
await page.waitForTimeout(2500);
await page.screenshot({ path: out });
await browser.close();
