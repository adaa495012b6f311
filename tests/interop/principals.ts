/**
 * A test-only way to give real clients a principal before SASL exists on
 * the broker: a {@linkcode Runtime} whose listener looks at the first
 * request header of each connection and sets that connection's principal
 * from its client id (`clientIds[clientId]`, else ANONYMOUS). Nothing in the
 * broker changes: the wrapped accept callback returns the broker's own
 * {@linkcode Connection}, whose `principal` is the field SASL will set.
 *
 * @module
 */
import { loadRuntime } from "../../ffi/load.ts";
import type { Runtime, SocketHandlers } from "../../ffi/port.ts";
import type { Connection } from "../../broker/connection.ts";
import { concatBytes } from "../../util/bytes.ts";

/** Size prefix, API key, version, correlation id, client id length. */
const HEADER_FIXED_BYTES = 4 + 2 + 2 + 4 + 2;

/** The runtime of this process, with principals set by client id. */
export function principalsByClientId(clientIds: Readonly<Record<string, string>>): Runtime {
  const runtime = loadRuntime();
  const listen: Runtime["listen"] = (options, onAccept) =>
    runtime.listen(options, (socket) => taggingHandlers(onAccept(socket) as Connection, clientIds));
  // Everything else is the runtime's own (its methods keep their `this`).
  return Object.assign(Object.create(runtime), { listen }) as Runtime;
}

/** Holds bytes back until the first header's client id is known, then hands everything on. */
function taggingHandlers(
  connection: Connection,
  clientIds: Readonly<Record<string, string>>,
): SocketHandlers {
  let held: Uint8Array | undefined = new Uint8Array(0);
  return {
    onData(chunk) {
      if (held === undefined) return connection.onData(chunk);
      held = concatBytes([held, chunk]);
      if (held.length < HEADER_FIXED_BYTES) return;
      const view = new DataView(held.buffer, held.byteOffset, held.length);
      const idBytes = view.getInt16(12);
      if (held.length < HEADER_FIXED_BYTES + Math.max(0, idBytes)) return;
      const clientId = idBytes < 0
        ? ""
        : new TextDecoder().decode(held.subarray(HEADER_FIXED_BYTES, HEADER_FIXED_BYTES + idBytes));
      const principal = clientIds[clientId];
      if (principal !== undefined) connection.principal = principal;
      const bytes = held;
      held = undefined;
      connection.onData(bytes);
    },
    onClose(error) {
      connection.onClose(error);
    },
  };
}
