/**
 * The web console in a real browser (Debian's chromium driven by
 * playwright-core, headless): it lists a topic created over Kafka, sends a
 * record through its form, finds that record in the record browser, and
 * leaves a screenshot in `tests/browser/output/console.png`.
 *
 * Skipped, with a message saying why, only when `/usr/bin/chromium` is not
 * installed (`.ci/run` installs it).
 */
import { chromium } from "playwright-core";
import { assert } from "../../util/assert.ts";
import { topicName } from "../interop/harness.ts";
import { withHttpBroker } from "../interop/http_helpers.ts";
import { kcatConsume, kcatProduce } from "../interop/kcat.ts";

const CHROMIUM_PATH = "/usr/bin/chromium";
const OUTPUT_DIR = new URL("./output/", import.meta.url).pathname;
/** Deadline of one browser step. */
const STEP_TIMEOUT_MS = 20_000;

function chromiumInstalled(): boolean {
  try {
    return Deno.statSync(CHROMIUM_PATH).isFile;
  } catch {
    return false;
  }
}

const installed = chromiumInstalled();
if (!installed) {
  console.warn(
    `Skipping the console browser test: "${CHROMIUM_PATH}" is not installed (apt-get install chromium).`,
  );
}

Deno.test({
  name:
    "console: sees a Kafka topic, sends a record through the page, finds it in the record browser",
  ignore: !installed,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await withHttpBroker({}, async ({ url, bootstrap }) => {
      const topic = topicName("console");
      // The topic comes from Kafka (auto-created by kcat's produce).
      await kcatProduce(bootstrap, [{ key: "from-kafka", value: "hello from kcat" }], { topic });
      const userDataDir = await Deno.makeTempDir({ prefix: "denka-chromium-" });
      // A fresh profile directory: playwright passes it as --user-data-dir.
      const browser = await chromium.launchPersistentContext(userDataDir, {
        executablePath: CHROMIUM_PATH,
        headless: true,
        viewport: { width: 1280, height: 1500 },
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
        ],
        timeout: STEP_TIMEOUT_MS,
      });
      try {
        const page = await browser.newPage();
        page.setDefaultTimeout(STEP_TIMEOUT_MS);
        const pageErrors: string[] = [];
        page.on("pageerror", (e) => pageErrors.push(String(e)));
        await page.goto(`${url}/`);
        await page.waitForSelector("body[data-ready=true]");
        await page.waitForSelector(`#topics tr[data-topic="${topic}"]`);
        await page.click(`#topics tr[data-topic="${topic}"]`);
        await page.waitForSelector("#partitions-panel:not([hidden])");

        // Send a record through the page's form.
        await page.selectOption("#send-record select[name=topic]", topic);
        await page.fill("#send-record input[name=key]", "from-console");
        await page.fill("#send-record textarea[name=value]", '{"sent":"through the page"}');
        await page.fill("#send-record input[name=headers]", "origin=browser");
        await page.click("#send-record button[type=submit]");
        await page.waitForSelector("#send-result[data-offset='1']");

        // Find it in the record browser, in the JSON view.
        await page.selectOption("#browse select[name=topic]", topic);
        await page.selectOption("#browse select[name=view]", "json");
        await page.click("#browse button[type=submit]");
        await page.waitForSelector("#records tr[data-offset='1']");
        const row = page.locator("#records tr[data-offset='1']");
        assert.equal(await row.locator("td.key").textContent(), "from-console");
        assert.deepEqual(JSON.parse((await row.locator("td.value").textContent())!), {
          sent: "through the page",
        });
        assert.equal(await row.locator("td").nth(4).textContent(), "origin=browser");
        assert.equal(
          await page.locator("#records tr[data-offset='0'] td.value").textContent(),
          "hello from kcat",
        );
        await page.waitForSelector("#chart-legend span");
        await Deno.mkdir(OUTPUT_DIR, { recursive: true });
        await page.screenshot({ path: `${OUTPUT_DIR}console.png`, fullPage: true });
        assert.deepEqual(pageErrors, []);
      } finally {
        await browser.close();
        await Deno.remove(userDataDir, { recursive: true }).catch(() => {});
      }
      // And Kafka sees the record sent through the page.
      const consumed = await kcatConsume(bootstrap, { topic, count: 2 });
      assert.deepEqual(consumed.map((m) => [m.offset, m.key, m.value, m.headers]), [
        [0, "from-kafka", "hello from kcat", []],
        [1, "from-console", '{"sent":"through the page"}', [["origin", "browser"]]],
      ]);
    });
  },
});
