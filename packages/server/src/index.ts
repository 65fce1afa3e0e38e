/**
 * PerpetuaNet central server: startServer() for programs and tests, serverCommand()/adminCommand()
 * for the `perpetuanet` CLI.
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { Command, Option } from "commander";
import { buildApp } from "./app.ts";
import type { AuthConfig } from "./auth.ts";
import { openDb } from "./db.ts";
import { migrate } from "./migrations.ts";
import { deleteNotice, listNotices, NoticeCache, publishNotice } from "./notices.ts";
import { noticeBody } from "./schemas.ts";
import { loadTls, selfSignedTls, type TlsMaterial } from "./tls.ts";

export { BODY_LIMIT } from "./app.ts";
export type { Db, Queryable } from "./db.ts";
export { createPgDb, createPgliteDb, DataDirInUseError, openDb } from "./db.ts";
export { migrate } from "./migrations.ts";
export { VERSION } from "./version.ts";

export interface ServerOptions {
  host?: string;
  port?: number;
  databaseUrl?: string;
  dataDir?: string;
  adminToken?: string;
  tls?: { cert: string; key: string } | { selfSigned: true };
  accessTokenTtlSec?: number;
  logLevel?: string;
  loginRateLimit?: { perAccount: number; perIp: number; windowSec: number };
  /** Trust X-Forwarded-For (only behind a load balancer that sets it). */
  trustProxy?: boolean;
}

export interface RunningServer {
  url: string;
  port: number;
  fingerprint: string | null;
  close(): Promise<void>;
}

export const DEFAULT_PORT = 8787;
export const DEFAULT_DATA_DIR = join(homedir(), ".perpetuanet-server");
export const DEFAULT_LOGIN_RATE_LIMIT = { perAccount: 10, perIp: 50, windowSec: 15 * 60 };
export const REFRESH_TOKEN_TTL_SEC = 30 * 24 * 3600;

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const host = opts.host ?? "127.0.0.1";
  const dataDir = opts.dataDir ?? DEFAULT_DATA_DIR;
  if (!opts.tls && !isLoopback(host)) {
    throw new Error(
      `refusing to serve plain HTTP on ${host}: use --tls-cert/--tls-key or --tls-self-signed (plain HTTP is for loopback only)`,
    );
  }
  let tls: TlsMaterial | null = null;
  if (opts.tls && "selfSigned" in opts.tls) tls = await selfSignedTls(dataDir, isLoopback(host) ? [] : [host]);
  else if (opts.tls) tls = loadTls(opts.tls.cert, opts.tls.key);

  const db = await openDb(opts.databaseUrl ? { databaseUrl: opts.databaseUrl } : { dataDir });
  const auth: AuthConfig = {
    accessTokenTtlSec: opts.accessTokenTtlSec ?? 15 * 60,
    refreshTokenTtlSec: REFRESH_TOKEN_TTL_SEC,
    loginRateLimit: opts.loginRateLimit ?? DEFAULT_LOGIN_RATE_LIMIT,
  };
  const notices = new NoticeCache(db);
  try {
    await migrate(db);
    await notices.start();
    const app = await buildApp({
      db,
      notices,
      auth,
      adminToken: opts.adminToken,
      logger: { level: opts.logLevel ?? "info" },
      https: tls ? { cert: tls.cert, key: tls.key } : undefined,
      trustProxy: opts.trustProxy,
    });
    await app.listen({ host, port: opts.port ?? DEFAULT_PORT });
    const address = app.server.address();
    const port = typeof address === "object" && address ? address.port : (opts.port ?? DEFAULT_PORT);
    const url = `${tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${port}`;
    app.log.info({ database: db.kind, url }, "server started");
    if (tls) app.log.info(`TLS fingerprint (SHA-256): ${tls.fingerprint}`);
    else app.log.warn("serving plain HTTP on a loopback address: use TLS for anything but local testing");
    let closing: Promise<void> | null = null;
    return {
      url,
      port,
      fingerprint: tls?.fingerprint ?? null,
      close() {
        closing ??= (async () => {
          await app.close();
          await notices.stop();
          await db.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    await notices.stop().catch(() => {});
    await db.close().catch(() => {});
    throw err;
  }
}

/** A commander argument parser for whole numbers >= 0 (ports, seconds, counts). */
export const nonNegativeInt = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${v}`);
  return n;
};

function dbOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option("--database-url <url>", "PostgreSQL connection string (default: embedded PGlite in --data-dir)").env(
        "DATABASE_URL",
      ),
    )
    .addOption(
      new Option("--data-dir <dir>", "data folder (PGlite database, self-signed certificate)")
        .env("PERPETUANET_DATA_DIR")
        .default(DEFAULT_DATA_DIR),
    );
}

export function serverCommand(): Command {
  const cmd = new Command("server").description(
    "Run the PerpetuaNet central server (REST API under /v1, OpenAPI at /v1/openapi.json).",
  );
  cmd
    .addOption(new Option("--host <host>", "address to listen on").env("PERPETUANET_HOST").default("127.0.0.1"))
    .addOption(
      new Option("--port <port>", "TCP port (0 = any free port)")
        .env("PERPETUANET_PORT")
        .default(DEFAULT_PORT)
        .argParser(nonNegativeInt("--port")),
    );
  dbOptions(cmd)
    .addOption(
      new Option("--admin-token <token>", "bearer token for /v1/admin/* (admin API disabled without it)").env(
        "PERPETUANET_ADMIN_TOKEN",
      ),
    )
    .addOption(new Option("--tls-cert <file>", "TLS certificate (PEM)").env("PERPETUANET_TLS_CERT"))
    .addOption(new Option("--tls-key <file>", "TLS private key (PEM)").env("PERPETUANET_TLS_KEY"))
    .addOption(
      new Option(
        "--tls-self-signed",
        "generate a self-signed certificate into the data folder on first start and print its SHA-256 fingerprint",
      ).env("PERPETUANET_TLS_SELF_SIGNED"),
    )
    .addOption(
      new Option("--access-token-ttl <seconds>", "access token lifetime")
        .env("PERPETUANET_ACCESS_TOKEN_TTL")
        .default(900)
        .argParser(nonNegativeInt("--access-token-ttl")),
    )
    .addOption(
      new Option("--login-limit-account <n>", "failed logins per account per window before 429")
        .env("PERPETUANET_LOGIN_LIMIT_ACCOUNT")
        .default(DEFAULT_LOGIN_RATE_LIMIT.perAccount)
        .argParser(nonNegativeInt("--login-limit-account")),
    )
    .addOption(
      new Option("--login-limit-ip <n>", "failed logins per client IP per window before 429")
        .env("PERPETUANET_LOGIN_LIMIT_IP")
        .default(DEFAULT_LOGIN_RATE_LIMIT.perIp)
        .argParser(nonNegativeInt("--login-limit-ip")),
    )
    .addOption(
      new Option("--login-limit-window <seconds>", "login rate limit window")
        .env("PERPETUANET_LOGIN_LIMIT_WINDOW")
        .default(DEFAULT_LOGIN_RATE_LIMIT.windowSec)
        .argParser(nonNegativeInt("--login-limit-window")),
    )
    .addOption(
      new Option(
        "--trust-proxy",
        "take the client IP from X-Forwarded-For (only behind a load balancer that sets it)",
      ).env("PERPETUANET_TRUST_PROXY"),
    )
    .addOption(
      new Option("--log-level <level>", "pino log level")
        .env("PERPETUANET_LOG_LEVEL")
        .choices(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
        .default("info"),
    )
    .addHelpText(
      "after",
      "\nRequest bodies are limited to 8 MiB (413 beyond). Every option can also be set by the environment variable shown.",
    )
    .action(async (o) => {
      if ((o.tlsCert && !o.tlsKey) || (!o.tlsCert && o.tlsKey)) cmd.error("--tls-cert and --tls-key go together");
      const tls = o.tlsCert
        ? { cert: o.tlsCert, key: o.tlsKey }
        : o.tlsSelfSigned
          ? { selfSigned: true as const }
          : undefined;
      // Signals are handled from the start: one arriving while the database opens still ends in a
      // clean close, and repeated signals during the close do not kill the process half-way.
      let server: RunningServer | null = null;
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        if (!server) return; // startup finishes, then closes (below)
        server.close().then(
          () => process.exit(0),
          (err) => {
            console.error(err);
            process.exit(1);
          },
        );
      };
      process.on("SIGTERM", stop);
      process.on("SIGINT", stop);
      try {
        server = await startServer({
          host: o.host,
          port: o.port,
          databaseUrl: o.databaseUrl,
          dataDir: o.dataDir,
          adminToken: o.adminToken,
          tls,
          accessTokenTtlSec: o.accessTokenTtl,
          logLevel: o.logLevel,
          loginRateLimit: { perAccount: o.loginLimitAccount, perIp: o.loginLimitIp, windowSec: o.loginLimitWindow },
          trustProxy: Boolean(o.trustProxy),
        });
      } catch (err) {
        console.error(`perpetuanet server: ${(err as Error).message}`);
        process.exit(1);
      }
      if (server.fingerprint) console.log(`TLS fingerprint (SHA-256): ${server.fingerprint}`);
      console.log(`PerpetuaNet server listening on ${server.url}`);
      if (stopping) {
        stopping = false;
        stop();
      }
    });
  return cmd;
}

/** `perpetuanet admin notice publish|list|delete`: talks to the database directly. */
export function adminCommand(): Command {
  const admin = new Command("admin").description("Administer a PerpetuaNet server's database directly.");
  const notice = admin.command("notice").description("Maintenance and incident notices shown to every user.");
  const withDb = async <T>(
    o: { databaseUrl?: string; dataDir: string },
    fn: (db: Awaited<ReturnType<typeof openDb>>) => Promise<T>,
  ) => {
    const db = await openDb(o.databaseUrl ? { databaseUrl: o.databaseUrl } : { dataDir: o.dataDir });
    try {
      await migrate(db);
      return await fn(db);
    } finally {
      await db.close();
    }
  };
  dbOptions(
    notice
      .command("publish")
      .description("Publish a notice")
      .requiredOption("--title <title>", "short title")
      .option("--body <text>", "details", "")
      .addOption(new Option("--severity <s>", "severity").choices(["info", "warning", "critical"]).default("info"))
      .addOption(new Option("--kind <k>", "kind").choices(["maintenance", "incident", "info"]).default("info"))
      .option("--starts-at <iso>", "start (ISO 8601, default now)")
      .option("--ends-at <iso>", "end (ISO 8601, default open-ended)"),
  ).action(async (o) => {
    const parsed = noticeBody.safeParse({
      title: o.title,
      body: o.body,
      severity: o.severity,
      kind: o.kind,
      ...(o.startsAt ? { startsAt: o.startsAt } : {}),
      ...(o.endsAt ? { endsAt: o.endsAt } : {}),
    });
    if (!parsed.success) {
      console.error(
        `invalid notice: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
      );
      process.exitCode = 1;
      return;
    }
    const n = await withDb(o, (db) => publishNotice(db, parsed.data));
    console.log(JSON.stringify(n));
  });
  dbOptions(
    notice
      .command("list")
      .description("List notices (ended ones too, with --all)")
      .option("--all", "include ended notices"),
  ).action(async (o) => {
    const list = await withDb(o, (db) => listNotices(db, Boolean(o.all)));
    for (const n of list) console.log(JSON.stringify(n));
  });
  dbOptions(notice.command("delete").description("Delete a notice").argument("<id>", "notice id")).action(
    async (id: string, o) => {
      if (!/^[0-9a-f-]{36}$/i.test(id)) {
        console.error(`not a notice id: ${id}`);
        process.exitCode = 1;
        return;
      }
      const ok = await withDb(o, (db) => deleteNotice(db, id));
      if (!ok) {
        console.error(`no notice ${id}`);
        process.exitCode = 1;
      }
    },
  );
  return admin;
}
