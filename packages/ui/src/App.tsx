/** The single window: a navigation rail (always visible), a header with the status badge, and one screen. */
import { AppShell, Center, Group, Loader, Stack, Text, Title, UnstyledButton } from "@mantine/core";
import { type ReactNode, useEffect, useState } from "react";
import { ErrorAlert, StatusBadge } from "./components.tsx";
import { Icon, type IconName } from "./icons.tsx";
import { Account } from "./screens/Account.tsx";
import { Devices } from "./screens/Devices.tsx";
import { Downloads } from "./screens/Downloads.tsx";
import { Library } from "./screens/Library.tsx";
import { Notices } from "./screens/Notices.tsx";
import { Settings } from "./screens/Settings.tsx";
import { Sync } from "./screens/Sync.tsx";
import { useAgent } from "./state.tsx";

export const SCREENS = [
  { id: "library", label: "Library", icon: "library" },
  { id: "downloads", label: "Downloads", icon: "download" },
  { id: "devices", label: "Devices", icon: "devices" },
  { id: "sync", label: "Sync", icon: "sync" },
  { id: "notices", label: "Notices", icon: "bell" },
  { id: "settings", label: "Settings", icon: "settings" },
  { id: "account", label: "Account", icon: "user" },
] as const satisfies ReadonlyArray<{ id: string; label: string; icon: IconName }>;

export type ScreenId = (typeof SCREENS)[number]["id"];

export function isScreen(v: string | null): v is ScreenId {
  return SCREENS.some((s) => s.id === v);
}

function NavButton({
  id,
  label,
  icon,
  active,
  disabled,
  badge,
  onClick,
}: {
  id: string;
  label: string;
  icon: IconName;
  active: boolean;
  disabled: boolean;
  badge?: number;
  onClick(): void;
}) {
  return (
    <UnstyledButton
      className="pn-nav"
      data-active={active || undefined}
      data-testid={`nav-${id}`}
      aria-current={active ? "page" : undefined}
      aria-label={label}
      title={disabled ? "Log in first" : label}
      disabled={disabled}
      onClick={onClick}
    >
      <Icon name={icon} size={20} />
      <span className="pn-nav-label">{label}</span>
      {badge ? (
        <span className="pn-nav-count" aria-hidden="true">
          {badge > 99 ? "99+" : badge}
        </span>
      ) : null}
    </UnstyledButton>
  );
}

export function App({ initialView }: { initialView: string | null }): ReactNode {
  const { status, statusError, agentReachable, downloads } = useAgent();
  const [screen, setScreen] = useState<ScreenId>(isScreen(initialView) ? initialView : "library");
  const unlocked = status?.lock === "unlocked";

  // Signal readiness once the first status has been rendered (used to measure load time).
  useEffect(() => {
    if (status || statusError) {
      document.body.dataset.appReady = "true";
      performance.mark("perpetuanet-ready");
    }
  }, [status, statusError]);

  const current: ScreenId = status && !unlocked ? "account" : screen;
  const active = downloads.filter((d) => d.local && (d.status === "downloading" || d.status === "queued")).length;

  let body: ReactNode;
  if (!status) {
    body = statusError ? (
      <Stack maw={560} mx="auto" mt="xl">
        <ErrorAlert title="PerpetuaNet cannot open" error={statusError} />
        <Text size="sm" c="dimmed">
          Start it with <code>perpetuanet start</code>: it opens this window with the address it prints, which carries
          the window's access token.
        </Text>
      </Stack>
    ) : (
      <Center h={200}>
        <Loader aria-label="Loading" />
      </Center>
    );
  } else {
    const screens: Record<ScreenId, ReactNode> = {
      library: <Library onOpenDownloads={() => setScreen("downloads")} />,
      downloads: <Downloads />,
      devices: <Devices />,
      sync: <Sync />,
      notices: <Notices />,
      settings: <Settings />,
      account: <Account onUnlocked={() => setScreen("library")} />,
    };
    body = screens[current];
  }

  return (
    <AppShell
      header={{ height: 56 }}
      navbar={{ width: { base: 84, md: 200 }, breakpoint: 0 }}
      padding="md"
      // The rail never collapses: no padding animation when the window is resized.
      transitionDuration={0}
    >
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap" gap="sm">
          <Group gap={8} wrap="nowrap" style={{ minWidth: 0 }}>
            <Title order={1} size="h4" style={{ whiteSpace: "nowrap" }}>
              PerpetuaNet
            </Title>
            {status?.device ? (
              <Text size="sm" c="dimmed" truncate="end" visibleFrom="sm" data-testid="header-device">
                {status.login ? `${status.login} · ` : ""}
                {status.device.name}
              </Text>
            ) : null}
          </Group>
          <StatusBadge status={status} agentReachable={agentReachable} failed={statusError !== null} />
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p={6} component="nav" aria-label="Main">
        <Stack gap={4}>
          {SCREENS.map((s) => (
            <NavButton
              key={s.id}
              id={s.id}
              label={s.label}
              icon={s.icon}
              active={current === s.id}
              disabled={!unlocked && s.id !== "account"}
              badge={s.id === "downloads" ? active : undefined}
              onClick={() => setScreen(s.id)}
            />
          ))}
        </Stack>
      </AppShell.Navbar>
      <AppShell.Main>
        <div className="pn-main" data-testid={`screen-${current}`}>
          {body}
        </div>
      </AppShell.Main>
    </AppShell>
  );
}
