/**
 * Generates `protocol/messages/` from Kafka's message JSON specs.
 *
 * Usage: `deno run -A protocol/gen/main.ts <specDir> <outDir>`, then
 * `deno fmt protocol/messages`. Uses only `node:` APIs, so Bun runs it too.
 *
 * @module
 */

import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import { GENERATED_APIS, GENERATED_HEADERS } from "./config.ts";
import { emitFile } from "./emit_codec.ts";
import { emitMod, emitSchema, type GeneratedApi } from "./emit_mod.ts";
import { fileStem, type Message, parseMessage } from "./spec.ts";

async function load(specDir: string, name: string): Promise<Message> {
  return parseMessage(await readFile(join(specDir, `${name}.json`), "utf8"));
}

function rangeText(m: Message): string {
  return `${m.valid.min}-${m.valid.max}`;
}

/** Generates every configured API and header into `outDir`. */
export async function generate(specDir: string, outDir: string): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const written: string[] = [];
  const emit = async (stem: string, text: string) => {
    const path = join(outDir, `${stem}.ts`);
    await writeFile(path, text);
    written.push(path);
  };
  const apis: GeneratedApi[] = [];
  for (const name of GENERATED_APIS) {
    const request = await load(specDir, `${name}Request`);
    const response = await load(specDir, `${name}Response`);
    if (request.apiKey !== response.apiKey || rangeText(request) !== rangeText(response)) {
      throw new Error(`${name}: request and response disagree on apiKey or validVersions`);
    }
    apis.push({ name, request, response });
    const flexible = request.flexible.min > request.flexible.max
      ? "never flexible"
      : `flexible from v${request.flexible.min}`;
    const title = `Kafka API ${request.apiKey} ${name}: versions ${
      rangeText(request)
    }, ${flexible}.`;
    await emit(fileStem(name), emitFile(title, [request, response]));
  }
  apis.sort((a, b) => a.request.apiKey! - b.request.apiKey!);
  const headers: Message[] = [];
  for (const name of GENERATED_HEADERS) {
    const header = await load(specDir, name);
    headers.push(header);
    await emit(fileStem(name), emitFile(`Kafka ${name}: versions ${rangeText(header)}.`, [header]));
  }
  await emit("mod", emitMod(apis, headers));
  await emit("_schema", emitSchema(apis));
  return written;
}

if (import.meta.main) {
  const [specDir, outDir] = process.argv.slice(2);
  if (specDir === undefined || outDir === undefined) {
    console.error("Usage: main.ts <specDir> <outDir>");
    process.exit(2);
  }
  const written = await generate(specDir, outDir);
  console.log(`Wrote ${written.length} files to ${outDir}; now run: deno fmt ${outDir}`);
}
