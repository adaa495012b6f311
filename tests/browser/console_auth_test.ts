/**
 * The web console on an HTTP API that needs credentials, in a real browser
 * (Debian's chromium through playwright-core, headless): without
 * credentials the page itself is refused with a Basic challenge (what makes
 * a browser show its sign-in prompt); signed in as a user allowed to read `orders-*`
 * only, it lists just those topics and shows a refused send as a 403 naming
 * the operation and topic.
 *
 * Skipped, with a message saying why, only when `/usr/bin/chromium` is not
 * installed (`.ci/run` installs it).
 */
import { type BrowserContext, chromium } from "playwright-core";
import { assert } from "../../util/assert.ts";
import { basic, SECURED_PASSWORDS, withSecuredHttp } from "../interop/http_security_helpers.ts";

const CHROMIUM_PATH = "/usr/bin/chromium";
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
    `Skipping the console sign-in browser test: "${CHROMIUM_PATH}" is not installed (apt-get install chromium).`,
  );
}

async function withBrowser(
  credentials: { username: string; password: string } | undefined,
  fn: (browser: BrowserContext) => Promise<void>,
): Promise<void> {
  const userDataDir = await Deno.makeTempDir({ prefix: "denka-chromium-" });
  const browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    httpCredentials: credentials,
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
    await fn(browser);
  } finally {
    await browser.close();
    await Deno.remove(userDataDir, { recursive: true }).catch(() => {});
  }
}

Deno.test({
  name: "console: asks for credentials, then shows only readable topics and a refused send as 403",
  ignore: !installed,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await withSecuredHttp(async ({ url, cluster }) => {
      const admin = basic("admin", SECURED_PASSWORDS.admin);
      for (const topic_name of ["orders-1", "payroll"]) {
        const res = await fetch(`${cluster}/topics`, {
          method: "POST",
          headers: { ...admin, "content-type": "application/json" },
          body: JSON.stringify({ topic_name }),
        });
        assert.equal(res.status, 201);
        await res.body?.cancel();
      }
      await withBrowser(undefined, async (browser) => {
        // The page asks for Basic credentials; with none to give, chromium gives up the load.
        const page = await browser.newPage();
        await assert.rejects(() => page.goto(`${url}/`), Error, "ERR_INVALID_AUTH_CREDENTIALS");
        const response = await browser.request.get(`${url}/`);
        assert.equal(response.status(), 401);
        assert.match(response.headers()["www-authenticate"] ?? "", /Basic realm="denka"/);
      });
      await withBrowser(
        { username: "alice", password: SECURED_PASSWORDS.alice },
        async (browser) => {
          const page = await browser.newPage();
          page.setDefaultTimeout(STEP_TIMEOUT_MS);
          const pageErrors: string[] = [];
          page.on("pageerror", (e) => pageErrors.push(String(e)));
          await page.goto(`${url}/`);
          await page.waitForSelector("body[data-ready=true]");
          await page.waitForSelector(`#topics tr[data-topic="orders-1"]`);
          const listed = await page.locator("#topics tr[data-topic]").evaluateAll((rows) =>
            rows.map((r) => r.getAttribute("data-topic"))
          );
          assert.deepEqual(listed, ["orders-1"]);
          await page.selectOption("#send-record select[name=topic]", "orders-1");
          await page.fill("#send-record textarea[name=value]", "refused");
          await page.click("#send-record button[type=submit]");
          await page.waitForSelector("#send-result.error");
          assert.equal(
            await page.locator("#send-result").textContent(),
            'Not allowed (403): Principal "User:alice" is not authorized to WRITE TOPIC "orders-1".',
          );
          assert.deepEqual(pageErrors, []);
        },
      );
    });
  },
});
