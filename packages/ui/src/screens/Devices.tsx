/** Devices: the node table (this PC, other PCs, trust, connection, last seen / sync, addresses) and revoke. */

import { Badge, Button, Group, Stack, Table, Text, VisuallyHidden } from "@mantine/core";
import type { DeviceView } from "@perpetuanet/core";
import { useState } from "react";
import { api } from "../api.ts";
import { ConfirmModal, Empty, ErrorAlert, PageTitle } from "../components.tsx";
import { formatAgo, formatDate } from "../format.ts";
import { useAgent, useLoad } from "../state.tsx";

function trustBadge(d: DeviceView) {
  if (d.revoked)
    return (
      <Badge color="red" variant="light">
        Revoked
      </Badge>
    );
  if (d.trusted)
    return (
      <Badge color="teal" variant="light">
        Trusted
      </Badge>
    );
  return (
    <Badge color="gray" variant="light">
      Not trusted
    </Badge>
  );
}

export function Devices() {
  const live = useAgent().devices;
  const loaded = useLoad(() => api.devices(), ["devices"]);
  // Each `devices` event also reloads the list, so the GET is never older than the event it follows.
  const devices = (loaded.data ?? live ?? [])
    .slice()
    .sort((a, b) => Number(b.thisDevice) - Number(a.thisDevice) || a.name.localeCompare(b.name));
  const [revoking, setRevoking] = useState<DeviceView | null>(null);

  return (
    <div>
      <PageTitle>Devices</PageTitle>
      <Text size="sm" c="dimmed" mb="md">
        The PCs of your account. They sync with each other directly when they can reach one another, and through the
        server otherwise.
      </Text>
      <ErrorAlert error={loaded.error} />
      {devices.length === 0 && !loaded.loading ? <Empty>No device yet.</Empty> : null}
      {devices.length ? (
        <Table.ScrollContainer minWidth={640}>
          <Table verticalSpacing="sm" data-testid="device-table" layout="fixed">
            <Table.Thead>
              <Table.Tr>
                <Table.Th w="26%">Device</Table.Th>
                <Table.Th w="18%">Connection</Table.Th>
                <Table.Th w="16%">Last sync</Table.Th>
                <Table.Th>Addresses</Table.Th>
                <Table.Th w={96}>
                  <VisuallyHidden>Actions</VisuallyHidden>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {devices.map((d) => (
                <Table.Tr key={d.id} data-testid="device-row" data-device-id={d.id} data-this={d.thisDevice}>
                  <Table.Td>
                    <Stack gap={4}>
                      <Text fw={600} size="sm" className="pn-break">
                        {d.name}
                      </Text>
                      <Group gap={4}>
                        {d.thisDevice ? (
                          <Badge color="indigo" variant="filled">
                            This PC
                          </Badge>
                        ) : null}
                        {trustBadge(d)}
                      </Group>
                    </Stack>
                  </Table.Td>
                  <Table.Td>
                    <Stack gap={2}>
                      {d.thisDevice ? (
                        <Text size="sm">—</Text>
                      ) : (
                        <Text size="sm" c={d.connected ? "teal" : "dimmed"} data-testid="device-connected">
                          {d.connected ? "Connected now" : "Not connected"}
                        </Text>
                      )}
                      <Text size="xs" c="dimmed" title={formatDate(d.lastSeen)}>
                        Seen {formatAgo(d.lastSeen)}
                      </Text>
                      {d.failures > 0 ? (
                        <Text size="xs" c="orange">
                          {d.failures} failed {d.failures === 1 ? "attempt" : "attempts"}
                        </Text>
                      ) : null}
                    </Stack>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm" title={formatDate(d.lastSync)}>
                      {formatAgo(d.lastSync)}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    {d.addresses.length ? (
                      <Stack gap={0}>
                        {d.addresses.slice(0, 4).map((a) => (
                          <Text key={a} size="xs" ff="monospace" className="pn-break">
                            {a}
                          </Text>
                        ))}
                        {d.addresses.length > 4 ? (
                          <Text size="xs" c="dimmed">
                            and {d.addresses.length - 4} more
                          </Text>
                        ) : null}
                      </Stack>
                    ) : (
                      <Text size="xs" c="dimmed">
                        none known
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>
                    {!d.thisDevice && !d.revoked ? (
                      <Button
                        size="xs"
                        color="red"
                        variant="light"
                        onClick={() => setRevoking(d)}
                        data-testid="device-revoke"
                        aria-label={`Revoke ${d.name}`}
                      >
                        Revoke
                      </Button>
                    ) : null}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      ) : null}
      <ConfirmModal
        opened={revoking !== null}
        title="Revoke this device?"
        onClose={() => setRevoking(null)}
        actions={[
          {
            label: "Revoke",
            testId: "confirm-revoke",
            run: async () => {
              if (revoking) await api.revokeDevice(revoking.id);
              loaded.reload();
            },
          },
        ]}
      >
        <Text size="sm">
          “{revoking?.name}” will no longer sync with the server or with your other PCs. Do this for a lost or sold PC.
          It cannot be undone: the PC has to log in again to be added back.
        </Text>
      </ConfirmModal>
    </div>
  );
}
