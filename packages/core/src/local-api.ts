/**
 * Contract between the agent's local API (127.0.0.1 only) and the UI. Types only: the agent
 * validates request bodies with its own schemas; the UI compiles against these shapes.
 *
 * Authentication: every /api request carries `Authorization: Bearer <token>`, where the token is a
 * per-launch secret the agent prints / passes to the window as `#token=` in the URL. The event stream
 * (`GET /api/events`, Server-Sent Events) takes it as `?token=` because EventSource cannot set headers.
 * Errors are `{ error: string, code?: string }` with a 4xx/5xx status.
 */
import type { DownloadStatus, LinkKind } from "./records.ts";

export type ConnectivityState = "online" | "offline" | "syncing";

export interface ApiError {
  error: string;
  code?: string;
}

export interface StatusView {
  /** `setup`: no account on this PC yet; `locked`: account known, password needed; `unlocked`: working. */
  lock: "setup" | "locked" | "unlocked";
  login: string | null;
  serverUrl: string | null;
  device: { id: string; name: string; peerId: string | null } | null;
  connectivity: ConnectivityState;
  /** Changes made or received here that the server has not acknowledged yet. */
  pending: number;
  lastSyncAt: number | null;
  lastError: string | null;
  version: string;
}

// POST /api/account/register  -> StatusView
export interface RegisterRequest {
  serverUrl: string;
  login: string;
  password: string;
  deviceName?: string;
  remember?: boolean;
  /** SHA-256 fingerprint (hex, colons optional) of the server's TLS certificate to pin. */
  tlsFingerprint?: string;
}
// POST /api/account/login -> StatusView. Works offline if this PC was set up before (unlock).
export interface LoginRequest {
  serverUrl?: string;
  login: string;
  password: string;
  deviceName?: string;
  remember?: boolean;
  tlsFingerprint?: string;
}
// POST /api/account/logout -> StatusView ; POST /api/account/password {oldPassword,newPassword} -> StatusView

export interface LinkView {
  id: string;
  url: string;
  kind: LinkKind;
  title: string;
  tags: string[];
  notes: string;
  createdAt: number;
}
// GET /api/links?q=text -> LinkView[] (full-text over title, tags, notes, url)
// POST /api/links LinkInput -> LinkView ; PATCH /api/links/:id Partial<LinkInput> -> LinkView ; DELETE /api/links/:id -> 204
export interface LinkInput {
  url: string;
  kind?: LinkKind;
  title?: string;
  tags?: string[];
  notes?: string;
}
// POST /api/links/:id/download {savePath?} -> DownloadView

/** Live figures of one transfer: what the agent's torrent engine reports and what a download row shows. */
export interface TransferStats {
  status: DownloadStatus;
  bytesDone: number;
  totalBytes: number;
  /** 0..1 */
  progress: number;
  /** Bytes per second. */
  downloadSpeed: number;
  /** Bytes per second. */
  uploadSpeed: number;
  /** Seconds left at the current speed; null when unknown or not downloading. */
  eta: number | null;
  peers: number;
}

export interface DownloadView extends TransferStats {
  id: string;
  linkId: string;
  infoHash: string;
  name: string;
  /** The PC this download row belongs to; rows of other PCs are status only. */
  deviceId: string;
  deviceName: string | null;
  local: boolean;
  savePath: string;
  error: string | null;
  updatedAt: number;
}
// GET /api/downloads -> DownloadView[]
// POST /api/downloads AddTorrentRequest -> DownloadView
export interface AddTorrentRequest {
  /** Exactly one of these. */
  magnet?: string;
  torrentUrl?: string;
  /** Base64 of a .torrent file picked or dropped in the UI. */
  torrentFile?: string;
  savePath?: string;
  title?: string;
}
// POST /api/downloads/:id/pause | /resume | /cancel -> DownloadView
// DELETE /api/downloads/:id?deleteFiles=true|false -> 204
// GET /api/downloads/:id -> DownloadDetails
export interface DownloadDetails extends DownloadView {
  files: Array<{ path: string; length: number; bytesDone: number; progress: number }>;
  trackers: string[];
  peerList: Array<{ address: string; client: string | null; downloadSpeed: number; uploadSpeed: number }>;
  pieceLength: number;
  /** The same link's download status on the user's other PCs. */
  elsewhere: Array<{ deviceId: string; deviceName: string | null; status: DownloadStatus; progress: number }>;
}

export interface DeviceView {
  id: string;
  name: string;
  peerId: string | null;
  thisDevice: boolean;
  trusted: boolean;
  revoked: boolean;
  connected: boolean;
  addresses: string[];
  lastSeen: number | null;
  lastSync: number | null;
  failures: number;
}
// GET /api/devices -> DeviceView[] ; POST /api/devices/:id/revoke -> DeviceView

export interface SyncView {
  connectivity: ConnectivityState;
  pending: number;
  lastSyncAt: number | null;
  lastError: string | null;
  history: Array<{ state: ConnectivityState; at: number; detail: string | null }>;
}
// GET /api/sync -> SyncView ; POST /api/sync/now -> SyncView

export interface NoticeView {
  id: string;
  source: "server" | "local";
  severity: "info" | "warning" | "critical";
  kind: string;
  title: string;
  body: string;
  createdAt: number;
  startsAt: number | null;
  endsAt: number | null;
}
// GET /api/notices -> NoticeView[]

/** How this PC's torrents run: what Settings shows and what the torrent engine applies. */
export interface TorrentOptions {
  /** The default folder; a download may have one of its own. */
  downloadFolder: string;
  /** Per torrent. */
  maxConnections: number;
  /** Bytes per second; 0 = unlimited. */
  downloadLimit: number;
  /** Bytes per second; 0 = unlimited. */
  uploadLimit: number;
  seeding: boolean;
  dht: boolean;
  trackers: boolean;
}

export interface SettingsView extends TorrentOptions {
  serverUrl: string | null;
  tlsFingerprint: string | null;
  startMinimised: boolean;
}
// GET /api/settings -> SettingsView ; PUT /api/settings Partial<SettingsView> -> SettingsView

/** Server-Sent Events on GET /api/events?token=... ; `event:` is the type, `data:` the JSON. */
export type AgentEvent =
  | { type: "status"; status: StatusView }
  | { type: "downloads"; downloads: DownloadView[] }
  | { type: "notice"; notice: NoticeView }
  | { type: "data-changed"; tables: string[] }
  | { type: "devices"; devices: DeviceView[] };
