/** This PC's libp2p identity: an Ed25519 key kept in the encrypted store, its peer id and public key. */
import {
  generateKeyPair,
  privateKeyFromProtobuf,
  privateKeyToProtobuf,
  publicKeyToProtobuf,
} from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
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
  let privateKey: Uint8Array;
  if (stored) {
    privateKey = Buffer.from(stored, "base64");
  } else {
    privateKey = privateKeyToProtobuf(await generateKeyPair("Ed25519"));
    store.setMeta(KEY_META, Buffer.from(privateKey).toString("base64"));
  }
  const key = privateKeyFromProtobuf(privateKey);
  return {
    privateKey,
    peerId: peerIdFromPrivateKey(key).toString(),
    publicKey: Buffer.from(publicKeyToProtobuf(key.publicKey)).toString("base64"),
  };
}
