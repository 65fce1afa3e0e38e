/**
 * Versioned SQL migrations, applied in order at start. An advisory lock makes concurrent starts of
 * several instances on one database safe. Never edit a released migration: append a new one.
 */
import type { Db } from "./db.ts";

export const MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: "initial",
    sql: `
CREATE TABLE accounts (
  id uuid PRIMARY KEY,
  login text NOT NULL UNIQUE,
  auth_hash text NOT NULL,
  wrapped_data_key text NOT NULL,
  next_seq bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE sessions (
  id uuid PRIMARY KEY,
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  access_hash text NOT NULL UNIQUE,
  access_expires_at timestamptz NOT NULL,
  refresh_hash text NOT NULL UNIQUE,
  refresh_expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sessions_account ON sessions(account_id);
CREATE TABLE devices (
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  device_id text NOT NULL,
  name text NOT NULL,
  peer_id text NOT NULL,
  public_key text NOT NULL,
  addresses jsonb NOT NULL DEFAULT '[]',
  revoked_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, device_id)
);
CREATE TABLE messages (
  account_id uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  server_seq bigint NOT NULL,
  origin text NOT NULL,
  seq bigint NOT NULL,
  hlc text NOT NULL,
  data text NOT NULL,
  PRIMARY KEY (account_id, server_seq),
  UNIQUE (account_id, origin, seq)
);
CREATE TABLE login_attempts (
  id bigserial PRIMARY KEY,
  login text NOT NULL,
  ip text NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_attempts_login ON login_attempts(login, at);
CREATE INDEX login_attempts_ip ON login_attempts(ip, at);
CREATE TABLE notices (
  id uuid PRIMARY KEY,
  severity text NOT NULL,
  kind text NOT NULL,
  title text NOT NULL,
  body text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  starts_at timestamptz NOT NULL DEFAULT now(),
  ends_at timestamptz
);
`,
  },
];

export async function migrate(db: Db): Promise<number> {
  return db.transaction(async (tx) => {
    // Serialises concurrent instance starts; released at commit.
    await tx.query("SELECT pg_advisory_xact_lock(7311202611)");
    await tx.query(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
    );
    const { rows } = await tx.query<{ version: number }>("SELECT version FROM schema_migrations");
    const applied = new Set(rows.map((r) => Number(r.version)));
    let count = 0;
    for (const m of MIGRATIONS) {
      if (applied.has(m.version)) continue;
      // One statement per call: PGlite's extended protocol takes a single statement.
      for (const statement of m.sql
        .split(/;\s*\n/)
        .map((x) => x.trim())
        .filter(Boolean))
        await tx.query(statement);
      await tx.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [m.version, m.name]);
      count++;
    }
    return count;
  });
}
