/**
 * Opens the app window through the desktop shell (Electron when installed, else Chromium/Chrome with
 * --app=, else the default browser). The desktop package is optional at run time: without it the
 * address is printed and the user opens it.
 */
export async function openWindow(url: string, dataDir: string): Promise<void> {
  try {
    const moduleName = "@perpetuanet/desktop";
    const desktop = (await import(moduleName)) as {
      openAppWindow?: (url: string, opts: { dataDir: string }) => Promise<{ kind: string }>;
    };
    if (!desktop.openAppWindow) throw new Error("the desktop package has no window launcher");
    const opened = await desktop.openAppWindow(url, { dataDir });
    console.log(`PerpetuaNet window opened (${opened.kind})`);
  } catch (error) {
    console.log(`Could not open a window (${(error as Error).message}); open the address above in a browser.`);
  }
}
