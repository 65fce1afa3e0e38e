/**
 * The UI against a stand-in of the agent's local API (test/helpers/mock-agent.ts): every screen at
 * 1280x800 and 800x600 without layout problems (screenshots in test-output/screenshots/), and the
 * behaviour that needs states one real agent cannot produce on demand: other PCs' downloads, API
 * errors on the account screen, revoked devices, server notices, rate limits in MiB/s.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, layoutProblems, openApp, screenshot, VIEWPORTS } from "./helpers/browser.ts";
import { ensureUiBuilt } from "./helpers/build.ts";
import { type MockAgent, sampleState, startMockAgent } from "./helpers/mock-agent.ts";

const SCREENS = ["library", "downloads", "devices", "sync", "notices", "settings", "account"] as const;

let browser: Browser;
const agents: MockAgent[] = [];

beforeAll(async () => {
  await ensureUiBuilt();
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await Promise.all(agents.map((a) => a.close()));
});

async function open(
  lock: "setup" | "locked" | "unlocked" = "unlocked",
  viewport: { width: number; height: number } = VIEWPORTS[0],
): Promise<{ page: Page; agent: MockAgent }> {
  const agent = await startMockAgent(sampleState(Date.now(), lock));
  agents.push(agent);
  const page = await browser.newPage({ viewport, reducedMotion: "reduce" });
  await openApp(page, `${agent.url}/#token=${agent.token}`);
  return { page, agent };
}

describe("every screen lays out at both window sizes", () => {
  for (const vp of VIEWPORTS) {
    it(`at ${vp.name}`, async () => {
      const { page } = await open("unlocked", vp);
      for (const screen of SCREENS) {
        await page.getByTestId(`nav-${screen}`).click();
        await page.getByTestId(`screen-${screen}`).waitFor();
        // Wait for each screen's data, so the screenshot shows it.
        const ready: Record<(typeof SCREENS)[number], string> = {
          library: "link-row",
          downloads: "download-row",
          devices: "device-row",
          sync: "sync-history",
          notices: "notice",
          settings: "settings-form",
          account: "account-current-login",
        };
        await page.getByTestId(ready[screen]).first().waitFor();
        expect(await layoutProblems(page), `${screen} at ${vp.name}`).toEqual([]);
        await screenshot(page, `mock-${screen}-${vp.name}`);
      }
      await page.getByTestId("nav-downloads").click();
      await page.getByTestId("download-details").first().click();
      await page.getByTestId("download-details-panel").waitFor();
      await screenshot(page, `mock-download-details-${vp.name}`);
      await page.keyboard.press("Escape");
      await page.getByTestId("nav-library").click();
      await page.getByTestId("library-add").click();
      await page.getByTestId("link-form").waitFor();
      await screenshot(page, `mock-add-link-${vp.name}`);
      await page.close();
    });
  }
});

describe("dark colour scheme", () => {
  it("follows the system's dark mode", async () => {
    const agent = await startMockAgent();
    agents.push(agent);
    const page = await browser.newPage({ viewport: VIEWPORTS[0], colorScheme: "dark", reducedMotion: "reduce" });
    await openApp(page, `${agent.url}/#token=${agent.token}`);
    expect(await page.locator("html").getAttribute("data-mantine-color-scheme")).toBe("dark");
    await page.getByTestId("nav-downloads").click();
    await page.getByTestId("download-row").first().waitFor();
    await screenshot(page, "mock-downloads-dark-1280x800");
    await page.close();
  });
});

describe("account", () => {
  it("shows the register form first on a new PC, and clear errors from the API", async () => {
    const { page, agent } = await open("setup");
    await expect.poll(() => page.getByTestId("screen-account").isVisible()).toBe(true);
    // Every other screen waits for an account.
    expect(await page.getByTestId("nav-library").isDisabled()).toBe(true);
    await page.getByTestId("account-server-url").fill("https://unreachable.example:1");
    await page.getByTestId("account-login").fill("ada");
    await page.getByTestId("account-password").fill("pw-1234567");
    await page.getByTestId("account-password2").fill("pw-1234567");
    await screenshot(page, "mock-register-1280x800");
    await page.getByTestId("account-submit").click();
    await expect
      .poll(() => page.getByTestId("error-alert").textContent())
      .toMatch(/server cannot be reached.*unreachable\.example:1.*ECONNREFUSED/);

    await page.getByTestId("account-server-url").fill("https://perpetuanet.example.org");
    await page.getByTestId("account-submit").click();
    await page.getByTestId("screen-library").waitFor();
    expect(agent.state.calls.findLast((c) => c.path === "/api/account/register")?.body).toMatchObject({
      serverUrl: "https://perpetuanet.example.org",
      login: "ada",
      password: "pw-1234567",
      remember: false,
    });
    await page.close();
  });

  it("unlocks a locked PC and says so when the password is wrong", async () => {
    const { page } = await open("locked");
    await page.getByTestId("form-unlock").waitFor();
    expect(await page.getByTestId("account-login").inputValue()).toBe("ada");
    await page.getByTestId("account-password").fill("not it");
    await page.getByTestId("account-submit").click();
    await expect.poll(() => page.getByTestId("error-alert").textContent()).toContain("Wrong login or password");
    await screenshot(page, "mock-unlock-error-800x600");
    await page.getByTestId("account-password").fill("correct horse");
    await page.getByTestId("account-submit").click();
    await page.getByTestId("screen-library").waitFor();
    await page.close();
  });
});

describe("downloads", () => {
  it("filters by state, pauses a download, and shows other PCs' rows as status only", async () => {
    const { page, agent } = await open();
    await page.getByTestId("nav-downloads").click();
    const rows = page.getByTestId("download-row");
    await rows.first().waitFor();
    const remote = page.locator("[data-testid=download-row][data-local=false]");
    expect(await remote.count()).toBe(1);
    expect(await remote.getByRole("button").count()).toBe(0);
    expect(await remote.getByTestId("download-device").textContent()).toBe("on Laptop");

    const downloading = page.locator("[data-testid=download-row][data-download-id=dl-1]");
    expect(await downloading.getByTestId("download-percent").textContent()).toBe("42 %");
    expect(await downloading.getByTestId("download-summary").textContent()).toContain("5.2 MiB/s");
    expect(await downloading.getByTestId("download-summary").textContent()).toContain("1 min 18 s left");
    await downloading.getByTestId("download-pause").click();
    await expect.poll(() => downloading.getAttribute("data-status")).toBe("paused");
    expect(agent.state.calls.some((c) => c.method === "POST" && c.path === "/api/downloads/dl-1/pause")).toBe(true);

    await page.getByTestId("downloads-filter-paused").click();
    await expect
      .poll(() => rows.evaluateAll((els) => els.map((e) => e.getAttribute("data-status"))))
      .toEqual(["paused", "paused"]);

    // Live: a `downloads` event moves the progress bar without a reload.
    await page.getByTestId("downloads-filter-all").click();
    agent.state.downloads = agent.state.downloads.map((d) =>
      d.id === "dl-6" ? { ...d, status: "downloading", progress: 0.5, bytesDone: d.totalBytes / 2 } : d,
    );
    agent.emit({ type: "downloads", downloads: agent.state.downloads });
    const queued = page.locator("[data-testid=download-row][data-download-id=dl-6]");
    await expect.poll(() => queued.getByTestId("download-percent").textContent()).toBe("50 %");
    await page.close();
  });
});

describe("library", () => {
  it("adds a .torrent file chosen with the file picker as a download", async () => {
    const { page, agent } = await open();
    await page.getByTestId("library-add").click();
    await page.getByText(".torrent file", { exact: true }).click();
    const chooser = page.waitForEvent("filechooser");
    await page.getByTestId("link-file").click();
    await (await chooser).setFiles({
      name: "sample.torrent",
      mimeType: "application/x-bittorrent",
      buffer: Buffer.from("d4:infod4:name3:abcee"),
    });
    expect(await page.getByTestId("link-title").inputValue()).toBe("sample");
    // The folder field offers the default from Settings and takes one for this torrent.
    expect(await page.getByTestId("link-save-path").getAttribute("placeholder")).toBe(
      agent.state.settings.downloadFolder,
    );
    await page.getByTestId("link-save-path").fill("/srv/media/samples");
    await page.getByTestId("link-save").click();
    await expect
      .poll(() => agent.state.calls.find((c) => c.path === "/api/downloads" && c.method === "POST")?.body)
      .toEqual({
        torrentFile: Buffer.from("d4:infod4:name3:abcee").toString("base64"),
        title: "sample",
        savePath: "/srv/media/samples",
      });
    await page.close();
  });
});

describe("library downloads", () => {
  it("adds a magnet and starts it at once in a folder chosen for it", async () => {
    const { page, agent } = await open();
    await page.getByTestId("library-add").click();
    await page.getByTestId("link-url").fill("magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567");
    await page.getByTestId("link-title").fill("Concert");
    // The folder is asked for only once the download is to start now.
    expect(await page.getByTestId("link-save-path").count()).toBe(0);
    await page.getByTestId("link-download-now").check();
    await page.getByTestId("link-save-path").fill("/srv/media/concerts");
    await page.getByTestId("link-save").click();
    const started = () => {
      const created = agent.state.links.find((l) => l.title === "Concert");
      return created && agent.state.calls.find((c) => c.path === `/api/links/${created.id}/download`)?.body;
    };
    await expect.poll(started).toEqual({ savePath: "/srv/media/concerts" });
    // The new download shows up in Downloads, in that folder.
    await page.getByTestId("nav-downloads").click();
    const row = page.locator("[data-testid=download-row]", { hasText: "Concert" });
    await row.waitFor();
    expect(agent.state.downloads.find((d) => d.name === "Concert")?.savePath).toBe("/srv/media/concerts");
    await page.close();
  });
});

describe("library edits", () => {
  it("edits a link's title and tags, and deletes another after confirmation", async () => {
    const { page, agent } = await open();
    // The Debian link is downloading here and completed on the laptop.
    const debian = page.locator("[data-testid=link-row][data-link-id=link-1]");
    expect(await debian.getByTestId("link-show-download").textContent()).toBe("Downloading");
    expect(await debian.getByTestId("link-elsewhere").textContent()).toBe("Completed on Laptop");
    const note = page.locator("[data-testid=link-row][data-link-id=link-4]");
    await note.getByTestId("link-edit").click();
    expect(await page.getByTestId("link-title").inputValue()).toBe("Shopping list for the NAS");
    await page.getByTestId("link-title").fill("NAS shopping list");
    await page.getByTestId("link-tags").fill("urgent");
    await page.keyboard.press("Enter");
    await page.getByTestId("link-save").click();
    await expect.poll(() => note.getByTestId("link-title-text").textContent()).toBe("NAS shopping list");
    expect(agent.state.calls.find((c) => c.method === "PATCH")).toMatchObject({
      path: "/api/links/link-4",
      body: { title: "NAS shopping list", tags: ["home", "urgent"], kind: "note" },
    });

    const web = page.locator("[data-testid=link-row][data-link-id=link-3]");
    await web.getByTestId("link-delete").click();
    await page.getByTestId("confirm-cancel").click();
    expect(await web.count()).toBe(1);
    await web.getByTestId("link-delete").click();
    await page.getByTestId("confirm-delete-link").click();
    await expect.poll(() => web.count()).toBe(0);
    expect(agent.state.calls.some((c) => c.method === "DELETE" && c.path === "/api/links/link-3")).toBe(true);
    await page.close();
  });
});

describe("drag and drop, live notices", () => {
  it("opens the Add dialog with a .torrent file dropped anywhere on the Library", async () => {
    const { page, agent } = await open();
    const dataTransfer = await page.evaluateHandle(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(["d4:infod4:name3:xyzee"], "dropped.torrent", { type: "application/x-bittorrent" }));
      return dt;
    });
    await page.getByTestId("library-drop-target").dispatchEvent("dragover", { dataTransfer });
    await page.getByTestId("library-drop-target").dispatchEvent("drop", { dataTransfer });
    expect(await page.getByTestId("link-file-name").textContent()).toBe("dropped.torrent");
    expect(await page.getByTestId("link-title").inputValue()).toBe("dropped");
    await page.getByTestId("link-save").click();
    await expect
      .poll(() => agent.state.calls.find((c) => c.path === "/api/downloads" && c.method === "POST")?.body)
      .toEqual({ torrentFile: Buffer.from("d4:infod4:name3:xyzee").toString("base64"), title: "dropped" });
    await page.close();
  });

  it("shows a notice the agent announces while the Notices screen is open", async () => {
    const { page, agent } = await open();
    await page.getByTestId("nav-notices").click();
    await page.getByTestId("notice").first().waitFor();
    const before = await page.getByTestId("notice").count();
    const notice = {
      id: "n-live",
      source: "local" as const,
      severity: "info" as const,
      kind: "online",
      title: "Back online just now",
      body: "",
      createdAt: Date.now(),
      startsAt: null,
      endsAt: null,
    };
    agent.state.notices.push(notice);
    agent.emit({ type: "notice", notice });
    await expect.poll(() => page.getByTestId("notice").count()).toBe(before + 1);
    expect(await page.getByTestId("notice").first().textContent()).toContain("Back online just now");
    await page.getByTestId("notices-severity").getByText("Critical").click();
    await expect.poll(() => page.getByTestId("notice").count()).toBe(1);
    await page.close();
  });
});

describe("devices and settings", () => {
  it("revokes a device after confirmation", async () => {
    const { page } = await open();
    await page.getByTestId("nav-devices").click();
    const nas = page.locator("[data-testid=device-row][data-device-id=dev-nas]");
    await nas.getByTestId("device-revoke").click();
    await page.getByTestId("confirm-revoke").click();
    await expect.poll(() => nas.textContent()).toContain("Revoked");
    expect(await nas.getByTestId("device-revoke").count()).toBe(0);
    // This PC cannot be revoked from itself.
    expect(await page.locator("[data-testid=device-row][data-this=true] [data-testid=device-revoke]").count()).toBe(0);
    await page.close();
  });

  it("saves a download limit typed in MiB/s as bytes per second, and only what changed", async () => {
    const { page, agent } = await open();
    await page.getByTestId("nav-settings").click();
    // 512 KiB/s from the agent shows as 512 KiB/s.
    expect(await page.getByTestId("settings-upload-limit").inputValue()).toBe("512");
    await page.getByTestId("settings-download-limit").fill("2");
    // A change made elsewhere while the user edits does not wipe the edit.
    agent.state.settings.maxConnections = 77;
    agent.emit({ type: "data-changed", tables: ["settings"] });
    await expect.poll(() => agent.state.calls.filter((c) => c.path === "/api/settings").length).toBe(2);
    expect(await page.getByTestId("settings-download-limit").inputValue()).toBe("2");
    await page.getByTestId("settings-download-limit-unit").click();
    await page.getByRole("option", { name: "MiB/s" }).waitFor();
    await screenshot(page, "mock-settings-unit-dropdown-1280x800");
    await page.getByRole("option", { name: "MiB/s" }).click();
    await page.getByTestId("settings-save").click();
    await page.getByTestId("settings-saved").waitFor();
    const put = agent.state.calls.find((c) => c.method === "PUT");
    expect(put?.body).toEqual({ downloadLimit: 2 * 1024 * 1024 });
    // After saving, the form shows what the agent has, including the other change.
    expect(await page.getByTestId("settings-connections").inputValue()).toBe("77");
    expect(await page.getByTestId("settings-download-limit").inputValue()).toBe("2");
    expect(await page.getByTestId("settings-download-limit-unit").inputValue()).toBe("MiB/s");
    await page.close();
  });
});

describe("status badge", () => {
  it("follows the agent's status events, and says so when the agent itself stops answering", async () => {
    const { page, agent } = await open();
    const badge = page.getByTestId("status-badge");
    await expect.poll(() => badge.textContent()).toBe("Online");
    agent.emit({ type: "status", status: { ...agent.state.status, connectivity: "syncing", pending: 3 } });
    await expect.poll(() => badge.textContent()).toBe("Syncing · 3 pending");
    agent.emit({ type: "status", status: { ...agent.state.status, connectivity: "offline", pending: 4 } });
    await expect.poll(() => badge.textContent()).toBe("Offline · 4 pending");
    expect(await badge.getAttribute("data-state")).toBe("offline");
    await page.getByTestId("nav-devices").click();
    expect(await badge.getAttribute("data-state")).toBe("offline");
    await agent.close();
    await expect.poll(() => badge.getAttribute("data-state"), { timeout: 10_000 }).toBe("agent-down");
    expect(await badge.textContent()).toBe("Agent not answering");
    await page.close();
  });
});

describe("sync", () => {
  it("Sync now asks the agent to sync and shows the result", async () => {
    const { page, agent } = await open();
    await page.getByTestId("nav-sync").click();
    await page.getByTestId("sync-history").waitFor();
    agent.state.sync = { ...agent.state.sync, pending: 0, lastError: "last push refused: 503" };
    await page.getByTestId("sync-now").click();
    await expect.poll(() => page.getByTestId("sync-error").textContent()).toBe("last push refused: 503");
    expect(agent.state.calls.some((c) => c.method === "POST" && c.path === "/api/sync/now")).toBe(true);
    expect(await page.getByTestId("sync-pending").textContent()).toBe("0");
    await page.close();
  });
});

describe("access token", () => {
  it("says how to get a valid token when the one in the address is refused", async () => {
    const agent = await startMockAgent();
    agents.push(agent);
    const page = await browser.newPage({ viewport: VIEWPORTS[1] });
    await openApp(page, `${agent.url}/#token=wrong`);
    expect(await page.getByTestId("error-alert").textContent()).toContain("access token was refused");
    expect(await page.getByTestId("status-badge").textContent()).toBe("Not connected");
    await screenshot(page, "mock-bad-token-800x600");
    await page.close();
  });

  it("moves the token from the address bar into sessionStorage and keeps working after a reload", async () => {
    const { page, agent } = await open();
    expect(new URL(page.url()).hash).toBe("");
    expect(await page.evaluate(() => sessionStorage.getItem("perpetuanet.token"))).toBe(agent.token);
    await page.reload();
    await page.getByTestId("link-row").first().waitFor();
    await page.close();
  });
});
