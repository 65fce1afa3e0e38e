/** Dialable TCP multiaddrs of a peer, each ending in /p2p/<peerId>. */
import { multiaddr } from "@multiformats/multiaddr";

/** Most addresses kept per peer: a PC has a few interfaces, not dozens. */
const MAX_ADDRESSES_PER_PEER = 12;

/** Normalises one address for `peerId`; undefined if it cannot be dialled (unparsable, wildcard, other peer). */
export function dialableAddress(address: string, peerId: string): string | undefined {
  let components: ReturnType<ReturnType<typeof multiaddr>["getComponents"]>;
  try {
    components = multiaddr(address).getComponents();
  } catch {
    return undefined;
  }
  const host = components[0];
  if (!host || !components.some((c) => c.name === "tcp")) return undefined;
  if (host.value === "0.0.0.0" || host.value === "::") return undefined;
  const own = components.findLast((c) => c.name === "p2p")?.value;
  if (own !== undefined) return own === peerId ? address : undefined;
  return `${address}/p2p/${peerId}`;
}

/** Merges address lists, first ones first, without duplicates or undialable entries. */
export function mergeAddresses(peerId: string, ...lists: string[][]): string[] {
  const out = new Set<string>();
  for (const list of lists) {
    for (const address of list) {
      const normal = dialableAddress(address, peerId);
      if (normal) out.add(normal);
      if (out.size >= MAX_ADDRESSES_PER_PEER) return [...out];
    }
  }
  return [...out];
}
