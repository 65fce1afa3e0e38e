/** Notices: from the server (maintenance, incidents) and from this PC (offline, back online, download done). */

import { Alert, Badge, Group, SegmentedControl, Stack, Text } from "@mantine/core";
import type { NoticeView } from "@perpetuanet/core";
import { useState } from "react";
import { api } from "../api.ts";
import { Empty, ErrorAlert, PageTitle } from "../components.tsx";
import { formatDate } from "../format.ts";
import { Icon, type IconName } from "../icons.tsx";
import { useLoad } from "../state.tsx";

const SEVERITY: Record<NoticeView["severity"], { color: string; icon: IconName; label: string }> = {
  critical: { color: "red", icon: "alert", label: "Critical" },
  warning: { color: "orange", icon: "alert", label: "Warning" },
  info: { color: "blue", icon: "info", label: "Info" },
};

/** Newest first. */
export function sortNotices(list: NoticeView[]): NoticeView[] {
  return list.slice().sort((a, b) => b.createdAt - a.createdAt);
}

function Choice<T extends string>(p: {
  label: string;
  value: T;
  onChange(v: NoInfer<T>): void;
  options: Record<NoInfer<T>, string>;
  testId: string;
}) {
  return (
    <SegmentedControl
      size="xs"
      value={p.value}
      onChange={(v) => p.onChange(v as T)}
      data={(Object.entries(p.options) as Array<[T, string]>).map(([value, label]) => ({ value, label }))}
      aria-label={p.label}
      data-testid={p.testId}
    />
  );
}

export function Notices() {
  const notices = useLoad(() => api.notices(), ["notices"]);
  const [filter, setFilter] = useState<"all" | NoticeView["severity"]>("all");
  const [source, setSource] = useState<"all" | NoticeView["source"]>("all");
  const list = sortNotices(notices.data ?? []).filter(
    (n) => (filter === "all" || n.severity === filter) && (source === "all" || n.source === source),
  );
  return (
    <div>
      <PageTitle>Notices</PageTitle>
      <Group gap="sm" mb="md" wrap="wrap">
        <Choice
          label="Severity"
          value={filter}
          onChange={setFilter}
          options={{ all: "All", critical: "Critical", warning: "Warning", info: "Info" }}
          testId="notices-severity"
        />
        <Choice
          label="Source"
          value={source}
          onChange={setSource}
          options={{ all: "Everywhere", server: "From the server", local: "From this PC" }}
          testId="notices-source"
        />
      </Group>
      <ErrorAlert error={notices.error} />
      <Stack gap="xs" data-testid="notice-list">
        {list.map((n) => {
          const s = SEVERITY[n.severity];
          const window =
            n.startsAt || n.endsAt
              ? ` · from ${formatDate(n.startsAt)} to ${n.endsAt ? formatDate(n.endsAt) : "?"}`
              : "";
          return (
            <Alert
              key={n.id}
              color={s.color}
              variant="light"
              icon={<Icon name={s.icon} />}
              data-testid="notice"
              data-severity={n.severity}
              data-kind={n.kind}
              title={
                <Group gap={6} wrap="wrap">
                  <span>{n.title}</span>
                  <Badge size="xs" variant="outline" color={s.color}>
                    {s.label}
                  </Badge>
                  <Badge size="xs" variant="outline" color="gray">
                    {n.source === "server" ? "Server" : "This PC"}
                  </Badge>
                </Group>
              }
            >
              {n.body ? (
                <Text size="sm" className="pn-break" style={{ whiteSpace: "pre-line" }}>
                  {n.body}
                </Text>
              ) : null}
              <Text size="xs" c="dimmed" mt={4}>
                {formatDate(n.createdAt)}
                {window}
              </Text>
            </Alert>
          );
        })}
        {notices.data && list.length === 0 ? <Empty>No notice.</Empty> : null}
      </Stack>
    </div>
  );
}
