/**
 * The private network key: every PC of an account derives the same one from the account data key, so
 * only the account's own devices can even complete a libp2p handshake with each other.
 */
import { privateNetworkKey } from "@perpetuanet/core";

/** The pre-shared key as @libp2p/pnet expects it: the text of a version 1 swarm key file. */
export function swarmKeyFromDataKey(dataKey: Uint8Array): Uint8Array {
  const hex = privateNetworkKey(dataKey).toString("hex");
  return new TextEncoder().encode(`/key/swarm/psk/1.0.0/\n/base16/\n${hex}`);
}
