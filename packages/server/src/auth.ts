/**
 * Accounts and sessions. The client never sends its password: it sends a password-derived auth key,
 * which the server hashes again with Argon2id. Tokens are opaque random strings; only their SHA-256
 * is stored, so a database leak does not hand out live sessions.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { hash, verify } from "@node-rs/argon2";
import type { Db, Queryable } from "./db.ts";
import { HttpError, unauthorized } from "./errors.ts";

export interface AuthConfig {
  accessTokenTtlSec: number;
  refreshTokenTtlSec: number;
  loginRateLimit: { perAccount: number; perIp: number; windowSec: number };
}

export interface Session {
  accountId: string;
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  wrappedDataKey: string;
}

// Argon2id (algorithm 2). The input is already a high-entropy derived key, so moderate cost suffices.
const ARGON2 = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
let dummyHash: Promise<string> | null = null;

export const sha256 = (token: string) => createHash("sha256").update(token).digest("hex");
const newToken = () => randomBytes(32).toString("base64url");

async function issueSession(
  db: Queryable,
  cfg: AuthConfig,
  accountId: string,
  wrappedDataKey: string,
  sessionId: string = randomUUID(),
  replace = false,
): Promise<Session> {
  const accessToken = newToken();
  const refreshToken = newToken();
  const params = [
    sessionId,
    accountId,
    sha256(accessToken),
    cfg.accessTokenTtlSec,
    sha256(refreshToken),
    cfg.refreshTokenTtlSec,
  ];
  if (replace) {
    await db.query(
      `UPDATE sessions SET access_hash = $3, access_expires_at = now() + make_interval(secs => $4),
         refresh_hash = $5, refresh_expires_at = now() + make_interval(secs => $6)
       WHERE id = $1 AND account_id = $2`,
      params,
    );
  } else {
    await db.query(
      `INSERT INTO sessions (id, account_id, access_hash, access_expires_at, refresh_hash, refresh_expires_at)
       VALUES ($1, $2, $3, now() + make_interval(secs => $4), $5, now() + make_interval(secs => $6))`,
      params,
    );
  }
  return { accountId, accessToken, refreshToken, expiresIn: cfg.accessTokenTtlSec, wrappedDataKey };
}

export async function register(
  db: Db,
  input: { login: string; authKey: string; wrappedDataKey: string },
): Promise<string> {
  const id = randomUUID();
  const authHash = await hash(input.authKey, ARGON2);
  const { rowCount } = await db.query(
    "INSERT INTO accounts (id, login, auth_hash, wrapped_data_key) VALUES ($1, $2, $3, $4) ON CONFLICT (login) DO NOTHING",
    [id, input.login, authHash, input.wrappedDataKey],
  );
  if (rowCount === 0) throw new HttpError(409, "LOGIN_TAKEN", "this login is already registered");
  return id;
}

async function checkRateLimit(db: Db, cfg: AuthConfig, login: string, ip: string): Promise<void> {
  const { perAccount, perIp, windowSec } = cfg.loginRateLimit;
  const { rows } = await db.query<{ by_login: string; by_ip: string; login_retry: number; ip_retry: number }>(
    `SELECT count(*) FILTER (WHERE login = $1) AS by_login,
            count(*) FILTER (WHERE ip = $2) AS by_ip,
            COALESCE(EXTRACT(EPOCH FROM min(at) FILTER (WHERE login = $1) + make_interval(secs => $3) - now()), 0)::float8 AS login_retry,
            COALESCE(EXTRACT(EPOCH FROM min(at) FILTER (WHERE ip = $2) + make_interval(secs => $3) - now()), 0)::float8 AS ip_retry
       FROM login_attempts
      WHERE at > now() - make_interval(secs => $3) AND (login = $1 OR ip = $2)`,
    [login, ip, windowSec],
  );
  const r = rows[0];
  if (!r) return;
  let retry = 0;
  if (Number(r.by_login) >= perAccount) retry = Math.max(retry, Number(r.login_retry));
  if (Number(r.by_ip) >= perIp) retry = Math.max(retry, Number(r.ip_retry));
  if (Number(r.by_login) >= perAccount || Number(r.by_ip) >= perIp) {
    const seconds = String(Math.max(1, Math.ceil(retry)));
    throw new HttpError(429, "RATE_LIMITED", `too many failed login attempts; retry in ${seconds} s`, {
      "retry-after": seconds,
    });
  }
}

export async function login(
  db: Db,
  cfg: AuthConfig,
  input: { login: string; authKey: string },
  ip: string,
): Promise<Session> {
  await checkRateLimit(db, cfg, input.login, ip);
  const { rows } = await db.query<{ id: string; auth_hash: string; wrapped_data_key: string }>(
    "SELECT id, auth_hash, wrapped_data_key FROM accounts WHERE login = $1",
    [input.login],
  );
  const account = rows[0];
  // Unknown logins cost the same time as wrong keys, so timing does not reveal which logins exist.
  dummyHash ??= hash("dummy-auth-key-for-timing", ARGON2);
  const ok = await verify(account?.auth_hash ?? (await dummyHash), input.authKey).catch(() => false);
  if (!account || !ok) {
    await db.query("INSERT INTO login_attempts (login, ip) VALUES ($1, $2)", [input.login, ip]);
    // Now and then, forget attempts older than the window (any instance may do it).
    if (Math.random() < 0.02) {
      await db.query("DELETE FROM login_attempts WHERE at < now() - make_interval(secs => $1)", [
        cfg.loginRateLimit.windowSec,
      ]);
    }
    throw new HttpError(401, "BAD_CREDENTIALS", "wrong login or password");
  }
  await db.query("DELETE FROM login_attempts WHERE login = $1", [input.login]);
  // Housekeeping: expired sessions of this account.
  await db.query("DELETE FROM sessions WHERE account_id = $1 AND refresh_expires_at < now()", [account.id]);
  return issueSession(db, cfg, account.id, account.wrapped_data_key);
}

export async function refresh(db: Db, cfg: AuthConfig, refreshToken: string): Promise<Session> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ id: string; account_id: string; expired: boolean; wrapped_data_key: string }>(
      `SELECT s.id, s.account_id, s.refresh_expires_at < now() AS expired, a.wrapped_data_key
         FROM sessions s JOIN accounts a ON a.id = s.account_id
        WHERE s.refresh_hash = $1 FOR UPDATE OF s`,
      [sha256(refreshToken)],
    );
    const s = rows[0];
    if (!s) throw unauthorized("unknown or already used refresh token");
    if (s.expired) {
      await tx.query("DELETE FROM sessions WHERE id = $1", [s.id]);
      throw new HttpError(401, "TOKEN_EXPIRED", "refresh token expired; log in again");
    }
    return issueSession(tx, cfg, s.account_id, s.wrapped_data_key, s.id, true);
  });
}

export interface Principal {
  accountId: string;
  sessionId: string;
}

/**
 * Resolves the bearer token, and in the same round trip the calling device (header X-Device-Id):
 * a revoked device is refused, and its last-seen time is refreshed at most once a minute.
 */
export async function authenticate(
  db: Db,
  authorization: string | undefined,
  deviceId: string | undefined,
): Promise<Principal> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  if (!match?.[1]) throw unauthorized();
  const { rows } = await db.query<{
    id: string;
    account_id: string;
    expired: boolean;
    revoked: boolean | null;
    stale: boolean | null;
  }>(
    `SELECT s.id, s.account_id, s.access_expires_at < now() AS expired,
            d.revoked_at IS NOT NULL AS revoked, d.last_seen < now() - interval '60 seconds' AS stale
       FROM sessions s
       LEFT JOIN devices d ON d.account_id = s.account_id AND d.device_id = $2
      WHERE s.access_hash = $1`,
    [sha256(match[1]), deviceId ?? ""],
  );
  const s = rows[0];
  if (!s) throw unauthorized();
  if (s.expired) throw new HttpError(401, "TOKEN_EXPIRED", "access token expired; refresh it");
  if (deviceId && s.revoked) throw new HttpError(403, "DEVICE_REVOKED", "this device was revoked for the account");
  if (deviceId && s.stale) {
    await db.query("UPDATE devices SET last_seen = now() WHERE account_id = $1 AND device_id = $2", [
      s.account_id,
      deviceId,
    ]);
  }
  return { accountId: s.account_id, sessionId: s.id };
}

export async function logout(db: Db, p: Principal): Promise<void> {
  await db.query("DELETE FROM sessions WHERE id = $1", [p.sessionId]);
}

export async function changePassword(
  db: Db,
  p: Principal,
  input: { authKey: string; newAuthKey: string; newWrappedDataKey: string },
): Promise<void> {
  const { rows } = await db.query<{ auth_hash: string }>("SELECT auth_hash FROM accounts WHERE id = $1", [p.accountId]);
  const current = rows[0];
  if (!current || !(await verify(current.auth_hash, input.authKey).catch(() => false))) {
    throw new HttpError(403, "BAD_CREDENTIALS", "current password is wrong");
  }
  const newHash = await hash(input.newAuthKey, ARGON2);
  await db.transaction(async (tx) => {
    await tx.query("UPDATE accounts SET auth_hash = $2, wrapped_data_key = $3 WHERE id = $1", [
      p.accountId,
      newHash,
      input.newWrappedDataKey,
    ]);
    // Other sessions were opened with the old password: end them.
    await tx.query("DELETE FROM sessions WHERE account_id = $1 AND id <> $2", [p.accountId, p.sessionId]);
  });
}
