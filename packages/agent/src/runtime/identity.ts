/** This PC's libp2p identity: an Ed25519 key kept in the encrypted store, its peer id and public key. */
import { generatePeerKey, peerIdFromKey, publicKeyFromKey } from "../p2p/keys.ts";
import type { LocalStore } from "../store/index.ts";

const KEY_META = "p2p.privateKey";

export interface PeerIdentity {
  /** Protobuf-encoded private key, as libp2p takes it. */
  privateKey: Uint8Array;
  peerId: string;
  /** Base64 of the protobuf-encoded public key, published in the device record. */
  publicKey: string;
}

export async function loadOrCreateIdentity(store: LocalStore): Promise<PeerIdentity> {
  const stored = store.getMeta(KEY_META);
  const privateKey = stored ? Buffer.from(stored, "base64") : await generatePeerKey();
  if (!stored) store.setMeta(KEY_META, Buffer.from(privateKey).toString("base64"));
  return { privateKey, peerId: peerIdFromKey(privateKey), publicKey: publicKeyFromKey(privateKey) };
}
