/**
 * A device of the account (it holds the data key, so it passes the private network) running a broken or
 * hostile sync implementation: it opens `/perpetuanet/sync/1` and writes whatever bytes a test gives it.
 */
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { generateKeyPair } from "@libp2p/crypto/keys";
import type { Connection, Libp2p, Stream } from "@libp2p/interface";
import { peerIdFromString } from "@libp2p/peer-id";
import { preSharedKey } from "@libp2p/pnet";
import { tcp } from "@libp2p/tcp";
import { multiaddr } from "@multiformats/multiaddr";
import { createLibp2p } from "libp2p";
import { SYNC_PROTOCOL } from "../../src/p2p/frames.ts";
import { swarmKeyFromDataKey } from "../../src/p2p/swarm-key.ts";

export class RoguePeer {
  readonly libp2p: Libp2p;
  readonly peerId: string;

  private constructor(libp2p: Libp2p) {
    this.libp2p = libp2p;
    this.peerId = libp2p.peerId.toString();
  }

  static async start(dataKey: Uint8Array): Promise<RoguePeer> {
    const libp2p = await createLibp2p({
      privateKey: await generateKeyPair("Ed25519"),
      addresses: { listen: ["/ip4/127.0.0.1/tcp/0"] },
      transports: [tcp()],
      connectionProtector: preSharedKey({ psk: swarmKeyFromDataKey(dataKey) }),
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
    });
    return new RoguePeer(libp2p);
  }

  /** Connects and opens a sync stream, as an honest dialler would. */
  async open(address: string): Promise<{ connection: Connection; stream: Stream }> {
    const connection = await this.libp2p.dial(multiaddr(address));
    const stream = await connection.newStream(SYNC_PROTOCOL);
    return { connection, stream };
  }

  isConnectedTo(peerId: string): boolean {
    return this.libp2p.getConnections(peerIdFromString(peerId)).some((c) => c.status === "open");
  }

  async stop(): Promise<void> {
    await this.libp2p.stop();
  }
}

/** An unsigned-varint length prefix, as it-length-prefixed writes it. */
export function varint(value: number): Uint8Array {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Uint8Array.from(out);
}

/** One frame around arbitrary bytes (or text). */
export function rawFrame(body: Uint8Array | string): Uint8Array {
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  const prefix = varint(bytes.length);
  const out = new Uint8Array(prefix.length + bytes.length);
  out.set(prefix);
  out.set(bytes, prefix.length);
  return out;
}
