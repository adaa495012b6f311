import { connectConformance } from "./_connect_conformance.ts";
import { denoRuntime } from "./deno.ts";

connectConformance(denoRuntime(), Deno.test);
