// Minimal typings for the untyped WebTorrent family, covering only what PerpetuaNet uses.

declare module "webtorrent" {
  import type { EventEmitter } from "node:events";

  export interface WebTorrentWire {
    remoteAddress?: string;
    remotePort?: number;
    peerId?: string;
    /** The peer's BEP 10 extended handshake ({} until it arrives); `reqq` caps WebTorrent's request pipeline. */
    peerExtendedHandshake?: { reqq?: unknown };
    downloadSpeed(): number;
    uploadSpeed(): number;
    on(event: "extended", fn: (ext: string | number, info: unknown) => void): void;
  }

  export interface WebTorrentFile {
    path: string;
    name: string;
    length: number;
    downloaded: number;
    progress: number;
  }

  export interface WebTorrentTorrent extends EventEmitter {
    infoHash: string;
    name: string;
    length: number;
    pieceLength: number;
    downloaded: number;
    received: number;
    uploaded: number;
    progress: number;
    downloadSpeed: number;
    uploadSpeed: number;
    timeRemaining: number;
    numPeers: number;
    done: boolean;
    ready: boolean;
    paused: boolean;
    destroyed: boolean;
    path: string;
    announce: string[];
    files: WebTorrentFile[];
    wires: WebTorrentWire[];
    torrentFile?: Uint8Array;
    bitfield?: { buffer: Uint8Array };
    pause(): void;
    resume(): void;
    destroy(opts?: { destroyStore?: boolean }, cb?: (err?: Error | null) => void): void;
  }

  export interface WebTorrentAddOptions {
    path?: string;
    announce?: string[];
    bitfield?: Uint8Array;
    skipVerify?: boolean;
    paused?: boolean;
    strategy?: "rarest" | "sequential";
    private?: boolean;
  }

  export interface WebTorrentOptions {
    dht?: boolean | object;
    lsd?: boolean;
    utPex?: boolean;
    natUpnp?: boolean;
    natPmp?: boolean;
    tracker?: boolean | object;
    webSeeds?: boolean;
    maxConns?: number;
    torrentPort?: number;
    downloadLimit?: number;
    uploadLimit?: number;
    utp?: boolean;
  }

  export default class WebTorrent extends EventEmitter {
    static UTP_SUPPORT: boolean;
    constructor(opts?: WebTorrentOptions);
    torrents: WebTorrentTorrent[];
    maxConns: number;
    torrentPort: number;
    listening: boolean;
    destroyed: boolean;
    add(
      torrentId: string | Uint8Array,
      opts?: WebTorrentAddOptions,
      ontorrent?: (t: WebTorrentTorrent) => void,
    ): WebTorrentTorrent;
    seed(
      input: string | string[] | Uint8Array,
      opts?: WebTorrentAddOptions & { announce?: string[] },
      onseed?: (t: WebTorrentTorrent) => void,
    ): WebTorrentTorrent;
    address(): { address: string; family: string; port: number } | null;
    throttleDownload(rate: number): void;
    throttleUpload(rate: number): void;
    destroy(cb?: (err?: Error | null) => void): void;
  }
}

declare module "parse-torrent" {
  export interface ParsedTorrent {
    infoHash: string;
    name?: string | string[];
    announce?: string[];
    info?: unknown;
    infoBuffer?: Uint8Array;
    length?: number;
    pieceLength?: number;
    files?: Array<{ path: string; name: string; length: number; offset: number }>;
  }
  export default function parseTorrent(torrentId: string | Uint8Array | object): Promise<ParsedTorrent>;
  export function toMagnetURI(parsed: Partial<ParsedTorrent>): string;
  export function toTorrentFile(parsed: ParsedTorrent): Uint8Array;
}

declare module "create-torrent" {
  export interface CreateTorrentOptions {
    name?: string;
    announceList?: string[][];
    pieceLength?: number;
    private?: boolean;
    createdBy?: string;
  }
  export default function createTorrent(
    input: string | string[] | Buffer,
    opts: CreateTorrentOptions,
    cb: (err: Error | null, torrent: Buffer) => void,
  ): void;
}

declare module "bittorrent-tracker" {
  import type { EventEmitter } from "node:events";
  export class Server extends EventEmitter {
    constructor(opts?: { http?: boolean; udp?: boolean; ws?: boolean; stats?: boolean; interval?: number });
    http: import("node:http").Server | null;
    listen(port: number, hostname: string | { http?: string; udp?: string }, cb?: () => void): void;
    close(cb?: () => void): void;
  }
}
