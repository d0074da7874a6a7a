// Browser test of the run report: a short SAC run on BipedalWalker-v3 with evaluations and a video;
// report.html opened from file:// in Debian's chromium (playwright-core) with the network off
// shows every section, at least 10 Plotly plots (the episode dashboard's hull, joints, gait and
// lidar among them), the video plays, and the console has no errors. The screenshot stays in
// build/test-artifacts/report.png.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const bin = process.env.RLFORGE_BIN;
const artifacts = process.env.RLFORGE_ARTIFACTS || os.tmpdir();

const settings = [
  "algo=sac", "env.id=BipedalWalker-v3", "progress=false", "total_timesteps=1500",
  "sac.learning_starts=1200", "sac.hidden=[32, 32]", "sac.batch_size=32", "eval.every_steps=750",
  "eval.episodes=1", "eval.video=true", "checkpoint.every_steps=750",
];

test("the report of a BipedalWalker run shows every section offline", { timeout: 240000 }, async () => {
  assert.ok(bin, "RLFORGE_BIN must name the rlforge binary");
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), "rlforge-report-"));
  const args = ["train", "--run-dir", runDir];
  for (const s of settings) args.push("--set", s);
  execFileSync(bin, args, { stdio: "inherit" });
  const report = path.join(runDir, "report.html");
  assert.ok(fs.existsSync(report), "report.html was written");

  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    await context.setOffline(true);
    const requests = [];
    await context.route("**/*", (route) => {  // only the file itself and its video may load
      const url = route.request().url();
      if (!url.startsWith("file://")) requests.push(url);
      return url.startsWith("file://") ? route.continue() : route.abort();
    });
    const page = await context.newPage();
    const errors = [];
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto("file://" + report);
    await page.waitForFunction(() => document.querySelectorAll(".js-plotly-plot").length >= 10,
                               null, { timeout: 60000 });
    for (const id of ["learning", "losses", "optimizer", "throughput", "video", "episode"]) {
      assert.ok(await page.locator("section#" + id).isVisible(), "section " + id);
    }
    const titles = await page.locator(".gtitle").allTextContents();
    for (const want of ["Evaluation: mean return", "hull", "joint_angle (rad)", "contact",
                        "lidar", "actions", "gradient norm before clipping",
                        "update / parameter RMS", "Env steps per second"]) {
      assert.ok(titles.some((t) => t.includes(want)), `a plot titled "${want}" among ${titles}`);
    }
    assert.ok((await page.locator(".js-plotly-plot").count()) >= 10);
    // the latest evaluation video plays
    const played = await page.evaluate(async () => {
      const v = document.querySelector("video");
      v.muted = true;
      await v.play();
      await new Promise((r) => setTimeout(r, 500));
      return v.currentTime > 0 && v.videoWidth > 0;
    });
    assert.ok(played, "the evaluation video plays");
    fs.mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, "report.png"), fullPage: false });
    await page.screenshot({ path: path.join(artifacts, "report_full.png"), fullPage: true });
    assert.deepEqual(errors, [], "console errors");
    assert.deepEqual(requests, [], "network requests");
  } finally {
    await browser.close();
    fs.rmSync(runDir, { recursive: true, force: true });
  }
});
