/** The serveHttp conformance suite (`_http_conformance.ts`) on the Deno binding. */
import { httpServeConformance } from "./_http_conformance.ts";
import { denoRuntime } from "./deno.ts";

httpServeConformance({
  name: "deno",
  runtime: denoRuntime(),
  async fetchTrusting(url, caPem) {
    const client = Deno.createHttpClient({ caCerts: [caPem] });
    try {
      const res = await fetch(url, { client });
      return new Response(await res.arrayBuffer(), { status: res.status });
    } finally {
      client.close();
    }
  },
}, Deno.test);
