// @ts-check
/**
 * The Electron main process of PerpetuaNet: one window on the agent's UI, a tray icon (Show / Quit),
 * the magnet: protocol handler (links go to the agent's `POST /api/downloads`), one instance per user
 * (a second launch, e.g. a clicked magnet link, is forwarded to the first), "start minimised".
 *
 * Started by packages/desktop/src/index.ts `openAppWindow` with PERPETUANET_APP_URL and
 * PERPETUANET_DATA_DIR in the environment, or on its own (a desktop shortcut; the OS as the magnet:
 * handler, with `--perpetuanet-data-dir=DIR`): it then uses the agent running on that data folder (its
 * agent.json), or starts one (`perpetuanet start --no-open`) and stops it again on Quit.
 */
"use strict";

const path = require("node:path");
const { app, BrowserWindow, Menu, Tray, dialog, nativeImage, shell } = require("electron");
const {
  appUrlOf,
  defaultDataDir,
  ensureAgent,
  forwardMagnet,
  isInsideApp,
  magnetsIn,
  mainOptions,
  splitAppUrl,
  startCommand,
  trayBitmap,
} = require("./electron-helpers.cjs");

const options = mainOptions(process.env, process.argv);
const dataDir = options.dataDir ?? defaultDataDir();
/**
 * The agent this shell started itself (null when it was given one or found one running).
 * @type {import("node:child_process").ChildProcess | null}
 */
let ownAgent = null;

/** @type {BrowserWindow | null} */
let win = null;
/** @type {Tray | null} */
let tray = null;
let quitting = false;

/**
 * The agent's URL: the one we were given, else that of the agent running on our data folder, else
 * PerpetuaNet (server and agent) is started. Null, after an error dialog, when it could not start.
 * @returns {Promise<string | null>}
 */
async function agentAppUrl() {
  if (options.appUrl) return options.appUrl;
  try {
    const { info, child } = await ensureAgent({ dataDir, command: startCommand(dataDir) });
    if (child) ownAgent = child;
    return appUrlOf(info);
  } catch (error) {
    dialog.showErrorBox("PerpetuaNet could not start", /** @type {Error} */ (error).message);
    return null;
  }
}

function showWindow() {
  if (!win) return;
  if (win.isMinimized()) win.restore();
  win.show();
  win.focus();
}

/** @param {string[]} magnets */
async function handleMagnets(magnets) {
  if (magnets.length === 0) return;
  const appUrl = await agentAppUrl();
  if (!appUrl) return;
  const { origin, token } = splitAppUrl(appUrl);
  if (!token) return;
  for (const magnet of magnets) {
    const result = await forwardMagnet({ origin, token, magnet });
    if (!result.ok) dialog.showErrorBox("Could not add the magnet link", result.error);
  }
  showWindow();
}

/** Registers as the magnet: handler; a dev launch (`electron electron-main.cjs`) must pass its script. */
function registerMagnetHandler() {
  const extra = [`--perpetuanet-data-dir=${dataDir}`];
  if (process.defaultApp) {
    app.setAsDefaultProtocolClient("magnet", process.execPath, [path.resolve(__filename), ...extra]);
  } else {
    app.setAsDefaultProtocolClient("magnet", process.execPath, extra);
  }
}

/**
 * The "start minimised" setting, read from the agent (unknown while the account is locked).
 * @param {string} appUrl
 */
async function startMinimisedSetting(appUrl) {
  if (options.startMinimised !== null) return options.startMinimised;
  const { origin, token } = splitAppUrl(appUrl);
  try {
    const res = await fetch(`${origin}/api/settings`, { headers: { authorization: `Bearer ${token}` } });
    if (!res.ok) return false;
    const settings = /** @type {{ startMinimised?: unknown }} */ (await res.json());
    return settings.startMinimised === true;
  } catch {
    return false;
  }
}

async function createWindow() {
  const appUrl = await agentAppUrl();
  if (!appUrl) {
    app.quit();
    return;
  }
  const { origin } = splitAppUrl(appUrl);
  const hidden = await startMinimisedSetting(appUrl);
  win = new BrowserWindow({
    width: 1280,
    height: 800,
    minWidth: 800,
    minHeight: 600,
    show: false,
    title: "PerpetuaNet",
    autoHideMenuBar: true,
    webPreferences: { contextIsolation: true, sandbox: true, nodeIntegration: false },
  });
  // Links to the web open in the default browser; the window stays on the agent's origin.
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (/^https?:/i.test(url)) void shell.openExternal(url);
    return { action: "deny" };
  });
  win.webContents.on("will-navigate", (event, url) => {
    if (!isInsideApp(url, origin)) {
      event.preventDefault();
      if (/^https?:/i.test(url)) void shell.openExternal(url);
    }
  });
  // Closing the window keeps PerpetuaNet in the tray; Quit in the tray menu ends it.
  win.on("close", (event) => {
    if (!quitting && tray) {
      event.preventDefault();
      win?.hide();
    }
  });
  win.once("ready-to-show", () => {
    if (!hidden) win?.show();
  });
  await win.loadURL(appUrl);

  const size = process.platform === "darwin" ? 16 : 32;
  tray = new Tray(nativeImage.createFromBitmap(trayBitmap(size), { width: size, height: size }));
  tray.setToolTip("PerpetuaNet");
  tray.setContextMenu(
    Menu.buildFromTemplate([
      { label: "Show PerpetuaNet", click: showWindow },
      { type: "separator" },
      {
        label: "Quit",
        click: () => {
          quitting = true;
          app.quit();
        },
      },
    ]),
  );
  tray.on("click", showWindow);
}

if (!app.requestSingleInstanceLock()) {
  // Another window is open: it receives our argv (and any magnet in it) through "second-instance".
  app.quit();
} else {
  app.on("second-instance", (_event, argv) => {
    showWindow();
    void handleMagnets(magnetsIn(argv));
  });
  // macOS delivers clicked links as open-url events, also before "ready".
  /** @type {string[]} */
  const early = [];
  app.on("open-url", (event, url) => {
    event.preventDefault();
    if (app.isReady()) void handleMagnets(magnetsIn([url]));
    else early.push(url);
  });
  app.on("before-quit", () => {
    quitting = true;
  });
  // An agent this shell started ends with it (SIGTERM: it closes its store and server cleanly).
  app.on("will-quit", () => {
    if (ownAgent && ownAgent.exitCode === null) ownAgent.kill("SIGTERM");
  });
  app.on("window-all-closed", () => {
    if (!tray) app.quit();
  });
  app.on("activate", showWindow);
  app.whenReady().then(async () => {
    registerMagnetHandler();
    await createWindow();
    await handleMagnets(magnetsIn([...process.argv, ...early]));
  });
}
