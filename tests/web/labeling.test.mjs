// Browser test of the labeling app: a short PEBBLE run with the human teacher on Pendulum, Debian's
// chromium driven by playwright-core. Both clips must really play; every pair is labelled, by
// keyboard and by clicking; the labels must reach the JSONL file and the preference buffer
// (feedback/labels in metrics.csv) and training must run to its end.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

const bin = process.env.RLFORGE_BIN;
const artifacts = process.env.RLFORGE_ARTIFACTS || os.tmpdir();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, fn, ms) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error("timed out waiting for " + what);
    await sleep(200);
  }
}

const settings = [
  "algo=pebble", "env.id=Pendulum-v1", "env.num_envs=1", "progress=false",
  "total_timesteps=1300", "eval.every_steps=0", "sac.hidden=[32, 32]", "sac.batch_size=64",
  "pebble.random_exploration_steps=200", "pebble.unsupervised_steps=600",
  "pebble.feedback_frequency=400", "pebble.queries_per_session=3", "pebble.max_feedback=6",
  "pebble.segment_length=25", "pebble.reset_update=10", "pebble.reward_model.hidden=[32, 32]",
  "pebble.teacher.preset=human", "pebble.human.port=0",
];

test("a person labels every pair in the browser and training goes on", { timeout: 240000 }, async () => {
  assert.ok(bin, "RLFORGE_BIN must name the rlforge binary");
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), "rlforge-web-"));
  const args = ["train", "--run-dir", runDir];
  for (const s of settings) args.push("--set", s);
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  try {
    const url = await waitFor("the app's URL", () => (log.match(/labeling app: (http:\S+)/) || [])[1], 60000);
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    await page.goto(url);
    const expected = [];
    for (let n = 0; n < 6; n++) {
      await page.waitForSelector("#left:not([disabled])", { timeout: 120000 });
      // both clips decode and play: enough data, not paused, the playhead moving
      await page.waitForFunction(() => [...document.querySelectorAll("video")]
        .every((v) => v.readyState >= 3 && !v.paused), null, { timeout: 30000 });
      const times = () => page.evaluate(() => [...document.querySelectorAll("video")].map((v) => v.currentTime));
      const before = await times();
      await waitFor("both playheads to move", async () => {
        const now = await times();
        return now[0] !== before[0] && now[1] !== before[1];
      }, 15000);
      const queue = await page.textContent("#queue");
      assert.match(queue, /^pair \d+ of \d+$/);
      if (n === 1) {
        await sleep(500);
        await page.screenshot({ path: path.join(artifacts, "labeling.png") });
      }
      const answered = await page.evaluate(async () => (await (await fetch("/api/pairs")).json()).answered);
      if (n % 2 === 0) {
        await page.keyboard.press("ArrowRight");
        expected.push("right");
      } else {
        await page.click("#left");
        expected.push("left");
      }
      await waitFor("the answer to be stored", () => page.evaluate(async (a) =>
        (await (await fetch("/api/pairs")).json()).answered > a, answered), 30000);
    }
    const code = await waitFor("training to finish", async () => {
      const c = await Promise.race([exited, sleep(200).then(() => undefined)]);
      return c === undefined ? undefined : { code: c };
    }, 120000);
    assert.equal(code.code, 0, log);
    const labels = fs.readFileSync(path.join(runDir, "feedback/labels.jsonl"), "utf8").trim().split("\n")
      .map((l) => JSON.parse(l).label);
    assert.deepEqual(labels, expected);
    const metrics = fs.readFileSync(path.join(runDir, "metrics.csv"), "utf8").trim().split("\n")
      .filter((l) => l.split(",")[2] === "feedback/labels").map((l) => Number(l.split(",")[3]));
    assert.deepEqual(metrics, [3, 6], "both sessions' labels reached the preference buffer");
    assert.ok(log.includes("last-20 mean return"), "training ran to its end:\n" + log);
  } catch (e) {
    e.message += "\n--- rlforge output ---\n" + log;
    throw e;
  } finally {
    await browser.close();
    child.kill("SIGKILL");
    fs.rmSync(runDir, { recursive: true, force: true });
  }
});
