/**
 * The agent's HTTP client for the central server. Every failure is classified: either the server
 * could not be reached (network error, timeout, 5xx, TLS pin mismatch: evidence for the connectivity
 * monitor) or it answered with a 4xx error that says something about the request or the account.
 */
import { TLSSocket } from "node:tls";
import { type Envelope, type SyncResponse, syncResponseSchema } from "@perpetuanet/core";
import { Agent, buildConnector, request } from "undici";

/** The server could not be reached or could not serve the request right now. */
export class ServerUnreachableError extends Error {
  constructor(url: string, detail: string) {
    super(`central server ${url} is unreachable: ${detail}`);
    this.name = "ServerUnreachableError";
  }
}

/** The server answered with a 4xx error. */
export class ServerRejectedError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "ServerRejectedError";
    this.status = status;
    this.code = code;
  }
}

export interface SessionTokens {
  accountId: string;
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  wrappedDataKey: string;
}

export interface ServerDevice {
  deviceId: string;
  name: string;
  peerId: string;
  publicKey: string;
  addresses: string[];
  revoked: boolean;
  createdAt: string;
  lastSeen: string;
}

export interface ServerNotice {
  id: string;
  severity: "info" | "warning" | "critical";
  kind: string;
  title: string;
  body: string;
  createdAt: string;
  startsAt: string;
  endsAt: string | null;
}

export interface HealthReport {
  status: "ok" | "degraded";
  database: "ok" | "down";
  maintenance: boolean;
  version: string;
}

export interface ServerClientOptions {
  url: string;
  /** SHA-256 fingerprint of the server certificate (hex, colons optional): trusted instead of a CA. */
  tlsFingerprint?: string | null;
  /** Per-request timeout (default 15 s); health probes pass their own. */
  timeoutMs?: number;
}

export function normaliseFingerprint(fp: string): string {
  const hex = fp.replace(/[^0-9a-f]/gi, "").toUpperCase();
  if (hex.length !== 64) throw new Error("a TLS fingerprint is the SHA-256 of the certificate: 64 hex digits");
  return hex.match(/../g)!.join(":");
}

export function normaliseServerUrl(input: string): string {
  let url: URL;
  try {
    url = new URL(input.trim());
  } catch {
    throw new Error(`not a server URL: ${JSON.stringify(input.slice(0, 100))}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("the server URL must be http(s)://");
  return url.origin;
}

/** Connects with TLS; when a fingerprint is pinned, the certificate must match it and nothing else is checked. */
function pinnedDispatcher(pin: string | null, timeoutMs: number): Agent {
  // A resumed TLS session shows no certificate to check, so pinned connections always do a full handshake.
  const base = buildConnector({
    rejectUnauthorized: pin === null,
    timeout: timeoutMs,
    ...(pin === null ? {} : { maxCachedSessions: 0 }),
  });
  return new Agent({
    connect(opts, callback) {
      base(opts, (err, socket) => {
        if (err || !socket) return callback(err ?? new Error("no socket"), null);
        if (pin !== null && socket instanceof TLSSocket) {
          const presented = socket.getPeerCertificate().fingerprint256;
          if (presented !== pin) {
            socket.destroy();
            return callback(
              new Error(`TLS certificate fingerprint ${presented} does not match the pinned ${pin}`),
              null,
            );
          }
        }
        callback(null, socket);
      });
    },
    keepAliveTimeout: 10_000,
    connections: 8,
  });
}

export class ServerClient {
  readonly url: string;
  private readonly dispatcher: Agent;
  private readonly timeoutMs: number;
  accessToken: string | null = null;
  deviceId: string | null = null;

  constructor(opts: ServerClientOptions) {
    this.url = normaliseServerUrl(opts.url);
    this.timeoutMs = opts.timeoutMs ?? 15_000;
    const pin = opts.tlsFingerprint ? normaliseFingerprint(opts.tlsFingerprint) : null;
    this.dispatcher = pinnedDispatcher(pin, this.timeoutMs);
  }

  async close(): Promise<void> {
    await this.dispatcher.destroy().catch(() => {});
  }

  private async call<T>(
    method: "GET" | "POST" | "PUT" | "DELETE",
    path: string,
    body?: unknown,
    opts: { auth?: boolean; timeoutMs?: number } = {},
  ): Promise<T> {
    const timeout = opts.timeoutMs ?? this.timeoutMs;
    const headers: Record<string, string> = {};
    if (body !== undefined) headers["content-type"] = "application/json";
    if (opts.auth !== false && this.accessToken) headers.authorization = `Bearer ${this.accessToken}`;
    if (this.deviceId) headers["x-device-id"] = this.deviceId;
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(`${this.url}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        dispatcher: this.dispatcher,
        headersTimeout: timeout,
        bodyTimeout: timeout,
        signal: AbortSignal.timeout(timeout),
      });
    } catch (error) {
      throw new ServerUnreachableError(this.url, describeNetworkError(error));
    }
    let text: string;
    try {
      text = await res.body.text();
    } catch (error) {
      throw new ServerUnreachableError(this.url, describeNetworkError(error));
    }
    if (res.statusCode >= 500) throw new ServerUnreachableError(this.url, `HTTP ${res.statusCode}`);
    let json: unknown = null;
    if (text.length > 0) {
      try {
        json = JSON.parse(text);
      } catch {
        throw new ServerUnreachableError(this.url, `HTTP ${res.statusCode} with a body that is not JSON`);
      }
    }
    if (res.statusCode >= 400) {
      const e = (json ?? {}) as { error?: string; code?: string };
      throw new ServerRejectedError(
        res.statusCode,
        e.code ?? `HTTP_${res.statusCode}`,
        e.error ?? `HTTP ${res.statusCode}`,
      );
    }
    return json as T;
  }

  health(timeoutMs: number): Promise<HealthReport> {
    return this.call<HealthReport>("GET", "/v1/health", undefined, { auth: false, timeoutMs });
  }

  register(body: { login: string; authKey: string; wrappedDataKey: string }): Promise<{ accountId: string }> {
    return this.call("POST", "/v1/accounts", body, { auth: false });
  }

  login(body: { login: string; authKey: string }): Promise<SessionTokens> {
    return this.call("POST", "/v1/sessions", body, { auth: false });
  }

  refresh(refreshToken: string): Promise<SessionTokens> {
    return this.call("POST", "/v1/sessions/refresh", { refreshToken }, { auth: false });
  }

  logout(): Promise<void> {
    return this.call("DELETE", "/v1/sessions/current");
  }

  changePassword(body: { authKey: string; newAuthKey: string; newWrappedDataKey: string }): Promise<void> {
    return this.call("PUT", "/v1/accounts/current/password", body);
  }

  registerDevice(body: {
    deviceId: string;
    name: string;
    peerId: string;
    publicKey: string;
    addresses: string[];
  }): Promise<ServerDevice> {
    return this.call("POST", "/v1/devices", body);
  }

  async devices(): Promise<ServerDevice[]> {
    return (await this.call<{ devices: ServerDevice[] }>("GET", "/v1/devices")).devices;
  }

  revokeDevice(deviceId: string): Promise<void> {
    return this.call("DELETE", `/v1/devices/${encodeURIComponent(deviceId)}`);
  }

  async sync(body: { cursor: string | null; messages: Envelope[]; limit?: number }): Promise<SyncResponse> {
    const raw = await this.call<unknown>("POST", "/v1/sync", body);
    const parsed = syncResponseSchema.safeParse(raw);
    if (!parsed.success) throw new ServerUnreachableError(this.url, "the sync response is malformed");
    return parsed.data;
  }

  async notices(): Promise<ServerNotice[]> {
    return (await this.call<{ notices: ServerNotice[] }>("GET", "/v1/notices")).notices;
  }
}

function describeNetworkError(error: unknown): string {
  const e = error as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === "TimeoutError" || e?.code === "UND_ERR_HEADERS_TIMEOUT" || e?.code === "UND_ERR_BODY_TIMEOUT") {
    return "no answer in time";
  }
  const code = e?.code ?? e?.cause?.code;
  const message = e?.message ?? String(error);
  return code && !message.includes(code) ? `${code} ${message}` : message;
}
