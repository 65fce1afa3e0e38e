/** Pieces shared by several screens. */

import {
  Alert,
  Badge,
  Button,
  Group,
  Modal,
  PasswordInput,
  type PasswordInputProps,
  Stack,
  Text,
  TextInput,
  type TextInputProps,
  Title,
} from "@mantine/core";
import type { StatusView } from "@perpetuanet/core";
import { type ReactNode, useState } from "react";
import { errorText } from "./api.ts";
import { Icon } from "./icons.tsx";

/** online / offline / syncing, with the number of pending changes; "agent not answering" when the API is down. */
export function statusLabel(
  status: StatusView | null,
  agentReachable: boolean,
  failed = false,
): { text: string; color: string; state: string } {
  if (!agentReachable) return { text: "Agent not answering", color: "gray", state: "agent-down" };
  if (!status) return { text: failed ? "Not connected" : "Connecting…", color: "gray", state: "unknown" };
  const pending = status.pending > 0 ? ` · ${status.pending} pending` : "";
  switch (status.connectivity) {
    case "online":
      return { text: `Online${pending}`, color: "teal", state: "online" };
    case "syncing":
      return { text: `Syncing${pending}`, color: "blue", state: "syncing" };
    default:
      return { text: `Offline${pending}`, color: "red", state: "offline" };
  }
}

export function StatusBadge({
  status,
  agentReachable,
  failed,
}: {
  status: StatusView | null;
  agentReachable: boolean;
  /** The first status request failed (refused token). */
  failed: boolean;
}) {
  const { text, color, state } = statusLabel(status, agentReachable, failed);
  const title =
    state === "offline"
      ? "The central server cannot be reached: everything keeps working on this PC and with your other PCs."
      : undefined;
  return (
    <Badge
      data-testid="status-badge"
      data-state={state}
      data-pending={status?.pending ?? 0}
      color={color}
      variant="light"
      size="lg"
      title={title}
      role="status"
      aria-label={`Connection: ${text}`}
      style={{ flexShrink: 0 }}
    >
      {text}
    </Badge>
  );
}

export function ErrorAlert({ error, title, onClose }: { error: unknown; title?: string; onClose?: () => void }) {
  if (!error) return null;
  const text = typeof error === "string" ? error : errorText(error);
  // The agent writes messages in lower case ("wrong login or password"); a repeat of the title is dropped.
  const message = text.charAt(0).toUpperCase() + text.slice(1);
  const heading = title ?? "Something went wrong";
  const repeat = message.trim().replace(/\.$/, "").toLowerCase() === heading.toLowerCase();
  return (
    <Alert
      color="red"
      variant="light"
      title={heading}
      icon={<Icon name="alert" />}
      withCloseButton={Boolean(onClose)}
      onClose={onClose}
      data-testid="error-alert"
      role="alert"
    >
      {repeat ? null : message}
    </Alert>
  );
}

export function PageTitle({ children, right }: { children: ReactNode; right?: ReactNode }) {
  return (
    <Group justify="space-between" align="center" wrap="wrap" gap="sm" mb="md">
      <Title order={2} size="h3">
        {children}
      </Title>
      {right ? (
        <Group gap="xs" wrap="wrap">
          {right}
        </Group>
      ) : null}
    </Group>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return (
    <Text c="dimmed" ta="center" py="xl" data-testid="empty">
      {children}
    </Text>
  );
}

/**
 * A confirmation dialog: `actions` are the buttons (label + what to run); it closes when one
 * succeeds and shows the error when it fails.
 */
export function ConfirmModal({
  opened,
  title,
  children,
  actions,
  onClose,
}: {
  opened: boolean;
  title: string;
  children: ReactNode;
  actions: Array<{ label: string; color?: string; testId: string; run: () => Promise<unknown> }>;
  onClose(): void;
}) {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const close = () => {
    setError(null);
    onClose();
  };
  return (
    <Modal opened={opened} onClose={close} title={title} centered>
      <Stack gap="md">
        <div>{children}</div>
        <ErrorAlert error={error} />
        <Group justify="flex-end" gap="xs">
          <Button variant="default" onClick={close} data-testid="confirm-cancel">
            Cancel
          </Button>
          {actions.map((a) => (
            <Button
              key={a.testId}
              color={a.color ?? "red"}
              loading={busy === a.testId}
              disabled={busy !== null && busy !== a.testId}
              data-testid={a.testId}
              onClick={async () => {
                setBusy(a.testId);
                setError(null);
                try {
                  await a.run();
                  close();
                } catch (err) {
                  setError(err);
                } finally {
                  setBusy(null);
                }
              }}
            >
              {a.label}
            </Button>
          ))}
        </Group>
      </Stack>
    </Modal>
  );
}

/** Runs an async action with a busy flag and a captured error. */
export function useAction(): {
  busy: boolean;
  error: unknown;
  setError(e: unknown): void;
  run<T>(fn: () => Promise<T>): Promise<T | undefined>;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return {
    busy,
    error,
    setError,
    async run(fn) {
      setBusy(true);
      setError(null);
      try {
        return await fn();
      } catch (err) {
        setError(err);
        return undefined;
      } finally {
        setBusy(false);
      }
    },
  };
}

/** A controlled text (or password) input with a test id: the form fields of every screen. */
export function Field({
  value,
  onValue,
  testId,
  password,
  ...rest
}: Omit<TextInputProps, "value" | "onChange"> & {
  value: string;
  onValue(value: string): void;
  testId: string;
  password?: boolean;
}) {
  const props = { ...rest, value, "data-testid": testId };
  const onChange = (e: { currentTarget: { value: string } }) => onValue(e.currentTarget.value);
  return password ? (
    <PasswordInput {...(props as PasswordInputProps)} onChange={onChange} />
  ) : (
    <TextInput {...props} onChange={onChange} />
  );
}
