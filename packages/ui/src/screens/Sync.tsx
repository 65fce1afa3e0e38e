/** Sync: state, pending changes, last successful sync, last error, connectivity history, "Sync now". */

import { Button, Paper, SimpleGrid, Stack, Table, Text } from "@mantine/core";
import type { ConnectivityState } from "@perpetuanet/core";
import { api } from "../api.ts";
import { ErrorAlert, PageTitle, statusLabel, useAction } from "../components.tsx";
import { formatAgo, formatDate } from "../format.ts";
import { Icon } from "../icons.tsx";
import { useAgent, useLoad } from "../state.tsx";

const STATE_TEXT: Record<ConnectivityState, string> = { online: "Online", offline: "Offline", syncing: "Syncing" };
const STATE_COLOR: Record<ConnectivityState, string> = { online: "teal", offline: "red", syncing: "blue" };

function Stat({ label, value, testId, color }: { label: string; value: string; testId: string; color?: string }) {
  return (
    <Paper withBorder p="sm">
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      <Text size="lg" fw={600} c={color} data-testid={testId} className="pn-break">
        {value}
      </Text>
    </Paper>
  );
}

export function Sync() {
  const { status, agentReachable } = useAgent();
  const sync = useLoad(() => api.sync(), ["sync"]);
  const now = useAction();
  const view = sync.data;
  const state = view?.connectivity ?? status?.connectivity ?? "offline";
  const lastError = view?.lastError ?? status?.lastError ?? null;
  return (
    <Stack gap="md">
      <PageTitle
        right={
          <Button
            leftSection={<Icon name="sync" />}
            loading={now.busy}
            onClick={() =>
              now.run(async () => {
                await api.syncNow();
                sync.reload();
              })
            }
            data-testid="sync-now"
          >
            Sync now
          </Button>
        }
      >
        Sync
      </PageTitle>
      <ErrorAlert error={now.error ?? sync.error} onClose={now.error ? () => now.setError(null) : undefined} />
      <SimpleGrid cols={{ base: 3 }} spacing="sm">
        <Stat
          label="Server"
          value={agentReachable ? STATE_TEXT[state] : statusLabel(status, agentReachable).text}
          color={STATE_COLOR[state]}
          testId="sync-state"
        />
        <Stat label="Pending changes" value={String(view?.pending ?? status?.pending ?? 0)} testId="sync-pending" />
        <Stat
          label="Last successful sync"
          value={formatAgo(view?.lastSyncAt ?? status?.lastSyncAt ?? null)}
          testId="sync-last"
        />
      </SimpleGrid>
      <Paper withBorder p="sm">
        <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
          Last error
        </Text>
        <Text size="sm" className="pn-break" c={lastError ? "red" : undefined} data-testid="sync-error">
          {lastError ?? "none"}
        </Text>
      </Paper>
      <Text size="sm" c="dimmed">
        While the server is offline, everything keeps working on this PC and your PCs sync directly with each other;
        pending changes are sent when it is back.
      </Text>
      <Paper withBorder p="sm">
        <Text fw={600} mb="xs">
          Connection history
        </Text>
        {view?.history.length ? (
          <Table data-testid="sync-history" layout="fixed">
            <Table.Thead>
              <Table.Tr>
                <Table.Th w={160}>When</Table.Th>
                <Table.Th w={110}>State</Table.Th>
                <Table.Th>Detail</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {view.history
                .slice()
                .reverse()
                .slice(0, 50)
                .map((h) => (
                  <Table.Tr key={`${h.at}-${h.state}`}>
                    <Table.Td>{formatDate(h.at)}</Table.Td>
                    <Table.Td>
                      <Text size="sm" c={STATE_COLOR[h.state]} fw={500}>
                        {STATE_TEXT[h.state]}
                      </Text>
                    </Table.Td>
                    <Table.Td className="pn-break">{h.detail ?? ""}</Table.Td>
                  </Table.Tr>
                ))}
            </Table.Tbody>
          </Table>
        ) : (
          <Text size="sm" c="dimmed">
            No change of state recorded yet.
          </Text>
        )}
      </Paper>
    </Stack>
  );
}
