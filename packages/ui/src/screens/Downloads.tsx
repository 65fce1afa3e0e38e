/** Downloads: live rows (SSE `downloads`), actions, filters, a details drawer; other PCs' rows are status only. */

import {
  ActionIcon,
  Badge,
  Chip,
  Drawer,
  Group,
  Loader,
  Paper,
  Progress,
  Stack,
  Table,
  Text,
  Title,
  Tooltip,
} from "@mantine/core";
import type { DownloadStatus, DownloadView } from "@perpetuanet/core";
import { useState } from "react";
import { api } from "../api.ts";
import { ConfirmModal, Empty, ErrorAlert, PageTitle, useAction } from "../components.tsx";
import { formatBytes, formatEta, formatPercent, formatSpeed } from "../format.ts";
import { Icon, type IconName } from "../icons.tsx";
import { useAgent, useLoad } from "../state.tsx";

export const STATUS_META: Record<DownloadStatus, { label: string; color: string; icon: IconName }> = {
  queued: { label: "Queued", color: "gray", icon: "clock" },
  downloading: { label: "Downloading", color: "blue", icon: "download" },
  paused: { label: "Paused", color: "yellow", icon: "pause" },
  seeding: { label: "Seeding", color: "teal", icon: "upload" },
  completed: { label: "Completed", color: "green", icon: "check" },
  error: { label: "Error", color: "red", icon: "alert" },
  cancelled: { label: "Cancelled", color: "gray", icon: "x" },
};

const FILTERS = [
  { value: "all", label: "All", match: () => true },
  { value: "active", label: "Active", match: (s: DownloadStatus) => s === "downloading" || s === "queued" },
  { value: "paused", label: "Paused", match: (s: DownloadStatus) => s === "paused" },
  { value: "seeding", label: "Seeding", match: (s: DownloadStatus) => s === "seeding" },
  { value: "completed", label: "Completed", match: (s: DownloadStatus) => s === "completed" },
  { value: "error", label: "Error", match: (s: DownloadStatus) => s === "error" },
  { value: "cancelled", label: "Cancelled", match: (s: DownloadStatus) => s === "cancelled" },
] as const;
type Filter = (typeof FILTERS)[number]["value"];

export function StatusBadgeFor({ status }: { status: DownloadStatus }) {
  const m = STATUS_META[status];
  return (
    <Badge
      color={m.color}
      variant="light"
      leftSection={<Icon name={m.icon} size={12} />}
      style={{ flexShrink: 0 }}
      data-testid="download-status"
      data-status={status}
    >
      {m.label}
    </Badge>
  );
}

/** "12 MiB of 100 MiB · ↓ 1.2 MiB/s · ↑ 0 B/s · 1 min 20 s left · 3 peers" */
export function downloadSummary(d: DownloadView): string {
  const parts = [`${formatBytes(d.bytesDone)} of ${d.totalBytes ? formatBytes(d.totalBytes) : "unknown size"}`];
  if (d.status === "downloading" || d.status === "seeding") {
    parts.push(`↓ ${formatSpeed(d.downloadSpeed)}`, `↑ ${formatSpeed(d.uploadSpeed)}`);
  }
  if (d.status === "downloading") parts.push(d.eta === null ? "time left unknown" : `${formatEta(d.eta)} left`);
  if (d.local && (d.status === "downloading" || d.status === "seeding")) {
    parts.push(`${d.peers} ${d.peers === 1 ? "peer" : "peers"}`);
  }
  return parts.join(" · ");
}

function Act({
  label,
  icon,
  testId,
  color,
  onClick,
  loading,
}: {
  label: string;
  icon: IconName;
  testId: string;
  color?: string;
  onClick(): void;
  loading?: boolean;
}) {
  return (
    <Tooltip label={label} withArrow openDelay={300}>
      <ActionIcon
        variant="light"
        color={color ?? "gray"}
        size="lg"
        aria-label={label}
        data-testid={testId}
        onClick={onClick}
        loading={loading}
      >
        <Icon name={icon} />
      </ActionIcon>
    </Tooltip>
  );
}

function DownloadRow({ d, onDetails, onRemove }: { d: DownloadView; onDetails(): void; onRemove(): void }) {
  const { updateDownload } = useAgent();
  const action = useAction();
  const act = (a: "pause" | "resume" | "cancel") =>
    action.run(async () => updateDownload(await api.downloadAction(d.id, a)));
  const canPause = d.status === "downloading" || d.status === "queued" || d.status === "seeding";
  const canResume = d.status === "paused" || d.status === "error" || d.status === "cancelled";
  const canCancel = d.status === "downloading" || d.status === "queued" || d.status === "paused";
  const pct = Math.round(Math.max(0, Math.min(1, d.progress)) * 1000) / 10;
  return (
    <Paper
      withBorder
      p="sm"
      data-testid="download-row"
      data-download-id={d.id}
      data-status={d.status}
      data-local={d.local}
      aria-label={d.name}
    >
      <Stack gap={6}>
        <Group justify="space-between" wrap="nowrap" gap="sm">
          <Group gap={8} wrap="nowrap" style={{ minWidth: 0 }}>
            <StatusBadgeFor status={d.status} />
            <Text fw={600} truncate="end" data-testid="download-name">
              {d.name || d.infoHash}
            </Text>
          </Group>
          {d.local ? (
            <Group gap={4} wrap="nowrap" style={{ flexShrink: 0 }}>
              {canPause ? (
                <Act label={`Pause ${d.name}`} icon="pause" testId="download-pause" onClick={() => act("pause")} />
              ) : null}
              {canResume ? (
                <Act
                  label={`Resume ${d.name}`}
                  icon="play"
                  color="blue"
                  testId="download-resume"
                  onClick={() => act("resume")}
                />
              ) : null}
              {canCancel ? (
                <Act label={`Cancel ${d.name}`} icon="x" testId="download-cancel" onClick={() => act("cancel")} />
              ) : null}
              <Act label={`Remove ${d.name}`} icon="trash" color="red" testId="download-remove" onClick={onRemove} />
              <Act label={`Details of ${d.name}`} icon="info" testId="download-details" onClick={onDetails} />
            </Group>
          ) : (
            <Text size="sm" c="dimmed" style={{ flexShrink: 0 }} data-testid="download-device">
              on {d.deviceName ?? "another PC"}
            </Text>
          )}
        </Group>
        <Group gap="sm" wrap="nowrap">
          <Progress
            value={pct}
            color={STATUS_META[d.status].color}
            size="lg"
            radius="sm"
            style={{ flex: 1 }}
            animated={d.status === "downloading"}
            striped={d.status === "downloading"}
            aria-label={`Progress of ${d.name}`}
            data-testid="download-progress"
            data-progress={pct}
          />
          <Text size="sm" w={56} ta="right" fw={500} data-testid="download-percent">
            {formatPercent(d.progress)}
          </Text>
        </Group>
        <Text size="xs" c="dimmed" data-testid="download-summary">
          {downloadSummary(d)}
        </Text>
        {d.error ? (
          <Text size="xs" c="red" className="pn-break" data-testid="download-error">
            {d.error}
          </Text>
        ) : null}
        <ErrorAlert error={action.error} onClose={() => action.setError(null)} />
      </Stack>
    </Paper>
  );
}

function KV({ rows }: { rows: Array<[string, string]> }) {
  return (
    <Table variant="vertical" layout="fixed" withTableBorder>
      <Table.Tbody>
        {rows.map(([k, v]) => (
          <Table.Tr key={k}>
            <Table.Th w={130}>{k}</Table.Th>
            <Table.Td className="pn-break">{v}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

function Details({ id }: { id: string }) {
  const { downloads } = useAgent();
  const row = downloads.find((d) => d.id === id);
  // Re-read whenever the live row moves.
  const details = useLoad(() => api.download(id), ["downloads"], [id, row?.bytesDone, row?.status, row?.peers]);
  const d = details.data;
  if (!d) return details.error ? <ErrorAlert error={details.error} /> : <Loader aria-label="Loading details" />;
  return (
    <Stack gap="md" data-testid="download-details-panel">
      <KV
        rows={[
          ["Status", STATUS_META[d.status].label + (d.error ? ` (${d.error})` : "")],
          ["Size", formatBytes(d.totalBytes)],
          ["Done", `${formatBytes(d.bytesDone)} (${formatPercent(d.progress)})`],
          ["Speed", `↓ ${formatSpeed(d.downloadSpeed)} · ↑ ${formatSpeed(d.uploadSpeed)}`],
          ["Time left", d.status === "downloading" ? formatEta(d.eta) : "—"],
          ["Save folder", d.savePath],
          ["Info hash", d.infoHash],
          ["Piece size", d.pieceLength ? formatBytes(d.pieceLength) : "—"],
        ]}
      />
      <div>
        <Title order={4} size="h6" mb={6}>
          Files ({d.files.length})
        </Title>
        <Stack gap={6} data-testid="download-files">
          {d.files.map((f) => (
            <div key={f.path}>
              <Group justify="space-between" wrap="nowrap" gap="xs">
                <Text size="sm" truncate="start" title={f.path}>
                  {f.path}
                </Text>
                <Text size="xs" c="dimmed" style={{ flexShrink: 0 }}>
                  {formatBytes(f.bytesDone)} / {formatBytes(f.length)} · {formatPercent(f.progress)}
                </Text>
              </Group>
              <Progress value={f.progress * 100} size="sm" aria-label={`Progress of ${f.path}`} />
            </div>
          ))}
        </Stack>
      </div>
      <div>
        <Title order={4} size="h6" mb={6}>
          Peers ({d.peerList.length})
        </Title>
        {d.peerList.length ? (
          <Table withTableBorder fz="xs" data-testid="download-peers">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Address</Table.Th>
                <Table.Th>Client</Table.Th>
                <Table.Th>↓</Table.Th>
                <Table.Th>↑</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {d.peerList.map((p) => (
                <Table.Tr key={p.address}>
                  <Table.Td className="pn-break">{p.address}</Table.Td>
                  <Table.Td>{p.client ?? "—"}</Table.Td>
                  <Table.Td>{formatSpeed(p.downloadSpeed)}</Table.Td>
                  <Table.Td>{formatSpeed(p.uploadSpeed)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        ) : (
          <Text size="sm" c="dimmed">
            No peer connected.
          </Text>
        )}
      </div>
      <div>
        <Title order={4} size="h6" mb={6}>
          Trackers
        </Title>
        {d.trackers.length ? (
          d.trackers.map((t) => (
            <Text key={t} size="sm" className="pn-break">
              {t}
            </Text>
          ))
        ) : (
          <Text size="sm" c="dimmed">
            None.
          </Text>
        )}
      </div>
      <div>
        <Title order={4} size="h6" mb={6}>
          On my other PCs
        </Title>
        {d.elsewhere.length ? (
          <Stack gap={4} data-testid="download-elsewhere">
            {d.elsewhere.map((e) => (
              <Group key={e.deviceId} gap="xs" wrap="nowrap">
                <Text size="sm" style={{ minWidth: 0 }} truncate="end">
                  {e.deviceName ?? e.deviceId}
                </Text>
                <StatusBadgeFor status={e.status} />
                <Text size="sm">{formatPercent(e.progress)}</Text>
              </Group>
            ))}
          </Stack>
        ) : (
          <Text size="sm" c="dimmed">
            Not downloaded on another PC.
          </Text>
        )}
      </div>
    </Stack>
  );
}

export function Downloads() {
  const { downloads } = useAgent();
  const [filter, setFilter] = useState<Filter>("all");
  const [detailsId, setDetailsId] = useState<string | null>(null);
  const [removing, setRemoving] = useState<DownloadView | null>(null);
  const match = FILTERS.find((f) => f.value === filter)?.match ?? (() => true);
  const shown = downloads.filter((d) => match(d.status));
  const local = shown.filter((d) => d.local);
  const remote = shown.filter((d) => !d.local);
  const count = (f: (typeof FILTERS)[number]) => downloads.filter((d) => f.match(d.status)).length;
  const detailsName = downloads.find((d) => d.id === detailsId)?.name;

  return (
    <div>
      <PageTitle>Downloads</PageTitle>
      <Chip.Group multiple={false} value={filter} onChange={(v) => setFilter(v as Filter)}>
        <Group gap={6} mb="md" wrap="wrap" role="group" aria-label="Show downloads by state">
          {FILTERS.map((f) => (
            <Chip
              key={f.value}
              value={f.value}
              size="sm"
              wrapperProps={{ "data-testid": `downloads-filter-${f.value}` }}
            >
              {f.label} ({count(f)})
            </Chip>
          ))}
        </Group>
      </Chip.Group>
      <Stack gap="xs" data-testid="download-list">
        {local.map((d) => (
          <DownloadRow key={d.id} d={d} onDetails={() => setDetailsId(d.id)} onRemove={() => setRemoving(d)} />
        ))}
        {local.length === 0 ? (
          <Empty>
            {downloads.length === 0
              ? "Nothing downloading. Use Download on a magnet or .torrent link in the Library."
              : "No download on this PC in this state."}
          </Empty>
        ) : null}
      </Stack>
      {remote.length ? (
        <>
          <Title order={3} size="h5" mt="lg" mb="xs">
            On my other PCs
          </Title>
          <Stack gap="xs" data-testid="download-list-remote">
            {remote.map((d) => (
              <DownloadRow key={d.id} d={d} onDetails={() => {}} onRemove={() => {}} />
            ))}
          </Stack>
        </>
      ) : null}
      <Drawer
        opened={detailsId !== null}
        onClose={() => setDetailsId(null)}
        position="right"
        size="lg"
        title={
          <Text fw={600} truncate="end">
            {detailsName ?? "Details"}
          </Text>
        }
      >
        {detailsId ? <Details id={detailsId} /> : null}
      </Drawer>
      <ConfirmModal
        opened={removing !== null}
        title="Remove this download?"
        onClose={() => setRemoving(null)}
        actions={[
          {
            label: "Remove, keep files",
            color: "gray",
            testId: "confirm-remove-keep",
            run: () => api.removeDownload(removing?.id ?? "", false),
          },
          {
            label: "Remove and delete files",
            testId: "confirm-remove-delete",
            run: () => api.removeDownload(removing?.id ?? "", true),
          },
        ]}
      >
        <Text size="sm" className="pn-break">
          “{removing?.name}” stops downloading and seeding on this PC. Its files in {removing?.savePath} can stay or be
          deleted.
        </Text>
      </ConfirmModal>
    </div>
  );
}
