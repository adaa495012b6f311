/**
 * The layer order, checked: a module may import only from its own layer or
 * the layers below it (util, protocol, ffi, storage, broker, then the entry
 * points `mod.ts`, `main.ts`, `_start_flags.ts`), and `ffi/` (the runtime
 * port) imports nothing of `protocol/` either: what it binds, such as the
 * hardware CRC-32C, the broker installs at start. Only `ffi/` names the
 * runtime (`Deno.*`, `Bun.*`, `bun:ffi`), and nothing imports from the HTTP
 * front door (`broker/http/`) but itself, the broker's composition root
 * (`broker/broker.ts`, which starts it) and the entry points.
 *
 * Tests, benchmarks and the Bun smoke script are outside the rule: they
 * drive the layers from above.
 *
 * @module
 */
import { assertEquals } from "../util/assert.ts";

const ROOT = new URL("../", import.meta.url);
const LAYERS = ["util", "protocol", "ffi", "storage", "broker", "entry"] as const;
type Layer = (typeof LAYERS)[number];

/** Top-level folders that are not part of the layered program. */
const OUTSIDE = new Set(["node_modules", "tests", "bench", "data", "dist", ".ci", ".git"]);
/** Files inside the layers that are test drivers, not program modules. */
const DRIVERS = new Set(["ffi/bun_smoke.ts"]);
/** The module that wires the layers together (it starts the HTTP server). */
const COMPOSITION_ROOT = "broker/broker.ts";

function layerOf(path: string): Layer | undefined {
  const top = path.split("/")[0];
  if (!path.includes("/")) return "entry";
  return (LAYERS as readonly string[]).includes(top) ? top as Layer : undefined;
}

async function* sourceFiles(dir: URL, prefix = ""): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = prefix + entry.name;
    if (entry.isDirectory) {
      if (prefix === "" && OUTSIDE.has(entry.name)) continue;
      yield* sourceFiles(new URL(`${entry.name}/`, dir), `${path}/`);
    } else if (
      entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts") && !DRIVERS.has(path) &&
      !entry.name.startsWith("_test_")
    ) {
      yield path;
    }
  }
}

/** The source without comments (block, line) so that prose may name anything. */
function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

/** Relative specifiers of static imports, re-exports and dynamic imports. */
function importsOf(source: string): string[] {
  const found: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["'](\.{1,2}\/[^"']+)["']/g;
  for (const m of source.matchAll(re)) found.push(m[1]);
  return found;
}

function resolve(fromPath: string, specifier: string): string {
  const url = new URL(specifier, new URL(fromPath, "file:///r/"));
  return url.pathname.slice("/r/".length);
}

Deno.test("layers: no module imports from a layer above its own", async () => {
  const violations: string[] = [];
  for await (const path of sourceFiles(ROOT)) {
    const from = layerOf(path)!;
    const source = stripComments(await Deno.readTextFile(new URL(path, ROOT)));
    for (const spec of importsOf(source)) {
      const target = resolve(path, spec);
      const to = layerOf(target);
      if (to === undefined) continue;
      if (LAYERS.indexOf(to) > LAYERS.indexOf(from) || (from === "ffi" && to === "protocol")) {
        violations.push(`${path} (${from}) imports ${target} (${to})`);
      }
      const targetName = target.split("/").pop()!;
      const sameFolder =
        target.slice(0, target.lastIndexOf("/")) === path.slice(0, path.lastIndexOf("/"));
      if (targetName.startsWith("_") && !sameFolder && from !== "entry") {
        violations.push(`${path} imports a module private to its folder: ${target}`);
      }
      const front = target.startsWith("broker/http/") && !path.startsWith("broker/http/");
      if (front && from !== "entry" && path !== COMPOSITION_ROOT) {
        violations.push(`${path} imports the HTTP layer: ${target}`);
      }
    }
  }
  assertEquals(violations, []);
});

Deno.test("layers: only ffi/ names the runtime", async () => {
  const violations: string[] = [];
  for await (const path of sourceFiles(ROOT)) {
    if (path.startsWith("ffi/")) continue;
    const source = stripComments(await Deno.readTextFile(new URL(path, ROOT)));
    const m = source.match(/\bDeno\.[A-Za-z]|\bBun\.[A-Za-z]|["']bun:ffi["']|from\s*["']bun["']/);
    if (m !== null) violations.push(`${path}: ${m[0]}`);
  }
  assertEquals(violations, []);
});

Deno.test("layers: the checker sees imports, dynamic imports and runtime names", () => {
  const source = stripComments(
    `// Deno.exit in a comment\nimport { a } from "../broker/x.ts";\n` +
      `const m = await import("./y.ts"); /* Bun.serve */ Deno.cwd();`,
  );
  assertEquals(importsOf(source), ["../broker/x.ts", "./y.ts"]);
  assertEquals(resolve("storage/segment.ts", "../broker/x.ts"), "broker/x.ts");
  assertEquals(layerOf("storage/segment.ts"), "storage");
  assertEquals(layerOf("mod.ts"), "entry");
  assertEquals(/\bDeno\.[A-Za-z]/.test(source), true);
  assertEquals(/\bBun\.[A-Za-z]/.test(source), false);
});

Deno.test("layers: storage/, protocol/ and ffi/ have a mod.ts surface", async () => {
  const storage = await import("../storage/mod.ts");
  const protocol = await import("../protocol/mod.ts");
  const ffi = await import("../ffi/mod.ts");
  assertEquals(typeof storage.PartitionLog.open, "function");
  assertEquals(typeof protocol.apiTable[protocol.ApiKey.Produce]?.decodeRequest, "function");
  assertEquals(protocol.decodeRequestHeader.length, 1); // the framing-aware one
  assertEquals(typeof ffi.memoryLibc({ seed: 1 }).open, "function");
});
