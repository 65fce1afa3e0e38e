/** Account: register or log in on a new PC, unlock (works offline), log out, change password. */
import { Button, Checkbox, Group, Paper, SegmentedControl, Stack, Table, Text, Title } from "@mantine/core";
import { type FormEvent, useState } from "react";
import { ApiFailure, api } from "../api.ts";
import { ErrorAlert, Field, PageTitle, useAction } from "../components.tsx";
import { useAgent } from "../state.tsx";

/** A title for the agent's error codes; the agent's own message is shown under it. */
export function accountErrorTitle(err: unknown): string {
  const code = err instanceof ApiFailure ? err.code : undefined;
  switch (code) {
    case "WRONG_PASSWORD":
    case "BAD_CREDENTIALS":
      return "Wrong login or password";
    case "SERVER_UNREACHABLE":
      return "The server cannot be reached";
    case "LOGIN_TAKEN":
      return "This login is already taken";
    case "TLS_MISMATCH":
    case "TLS_FINGERPRINT_MISMATCH":
      return "The server's certificate does not match the fingerprint";
    case "RATE_LIMITED":
      return "Too many attempts";
    case "NOT_SET_UP":
      return "This account was never used on this PC";
    case "WEAK_PASSWORD":
      return "Choose a longer password";
    case "ALREADY_SET_UP":
      return "This account is already set up on this PC";
    default:
      return "Could not complete the request";
  }
}

type Mode = "register" | "login";

/** The login of this window's last session, offered again on the unlock form after "Log out". */
const LAST_LOGIN_KEY = "perpetuanet.lastLogin";

function SignInForm({ mode, onDone }: { mode: Mode | "unlock"; onDone(): void }) {
  const { status, setStatus } = useAgent();
  const [serverUrl, setServerUrl] = useState(status?.serverUrl ?? "");
  const [tlsFingerprint, setTls] = useState("");
  const [login, setLogin] = useState(status?.login ?? sessionStorage.getItem(LAST_LOGIN_KEY) ?? "");
  const [password, setPassword] = useState("");
  const [password2, setPassword2] = useState("");
  const [deviceName, setDeviceName] = useState("");
  const [remember, setRemember] = useState(false);
  const action = useAction();
  const [localError, setLocalError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setLocalError(null);
    if (mode === "register" && password !== password2) {
      setLocalError("The two passwords differ.");
      return;
    }
    const common = {
      login: login.trim(),
      password,
      remember,
      ...(deviceName.trim() ? { deviceName: deviceName.trim() } : {}),
      ...(tlsFingerprint.trim() ? { tlsFingerprint: tlsFingerprint.trim() } : {}),
    };
    const s = await action.run(() =>
      mode === "register"
        ? api.register({ ...common, serverUrl: serverUrl.trim() })
        : api.login({ ...common, ...(mode === "login" && serverUrl.trim() ? { serverUrl: serverUrl.trim() } : {}) }),
    );
    if (s) {
      setStatus(s);
      if (s.lock === "unlocked") onDone();
    }
  };

  const submitLabel = mode === "register" ? "Create account" : mode === "login" ? "Log in" : "Unlock";
  return (
    <form onSubmit={submit} data-testid={`form-${mode}`}>
      <Stack gap="sm">
        {mode !== "unlock" ? (
          <>
            <Field
              label="Server URL"
              placeholder="https://perpetuanet.example.org"
              description={mode === "login" ? "Leave empty to use the server this PC already knows" : undefined}
              required={mode === "register"}
              value={serverUrl}
              onValue={setServerUrl}
              testId="account-server-url"
            />
            <Field
              label="Server certificate fingerprint (optional)"
              placeholder="SHA-256, e.g. AB:CD:…"
              description="For a server with a self-signed certificate: the fingerprint it printed at start"
              value={tlsFingerprint}
              onValue={setTls}
              testId="account-tls"
            />
          </>
        ) : null}
        <Field label="Login" required autoComplete="username" value={login} onValue={setLogin} testId="account-login" />
        <Field
          password
          label="Password"
          required
          autoComplete={mode === "register" ? "new-password" : "current-password"}
          value={password}
          onValue={setPassword}
          testId="account-password"
        />
        {mode === "register" ? (
          <Field
            password
            label="Repeat the password"
            required
            autoComplete="new-password"
            value={password2}
            onValue={setPassword2}
            testId="account-password2"
          />
        ) : null}
        {mode !== "unlock" ? (
          <Field
            label="Name of this PC (optional)"
            placeholder="e.g. Office desktop"
            value={deviceName}
            onValue={setDeviceName}
            testId="account-device"
          />
        ) : null}
        <Checkbox
          label="Remember me on this PC (unlock without the password after a restart)"
          checked={remember}
          onChange={(e) => setRemember(e.currentTarget.checked)}
          data-testid="account-remember"
        />
        {localError ? <ErrorAlert title="Check the form" error={localError} /> : null}
        {action.error ? <ErrorAlert title={accountErrorTitle(action.error)} error={action.error} /> : null}
        <Group justify="flex-end">
          <Button type="submit" loading={action.busy} data-testid="account-submit">
            {submitLabel}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

function ChangePassword() {
  const { setStatus } = useAgent();
  const [oldPassword, setOld] = useState("");
  const [newPassword, setNew] = useState("");
  const [newPassword2, setNew2] = useState("");
  const [done, setDone] = useState(false);
  const action = useAction();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setDone(false);
    if (newPassword !== newPassword2) {
      action.setError("The two new passwords differ.");
      return;
    }
    const s = await action.run(() => api.changePassword(oldPassword, newPassword));
    if (s) {
      setStatus(s);
      setOld("");
      setNew("");
      setNew2("");
      setDone(true);
    }
  };
  return (
    <form onSubmit={submit} data-testid="form-password">
      <Stack gap="sm">
        <Title order={3} size="h5">
          Change password
        </Title>
        <Field
          password
          label="Current password"
          required
          autoComplete="current-password"
          value={oldPassword}
          onValue={setOld}
          testId="password-old"
        />
        <Field
          password
          label="New password"
          required
          autoComplete="new-password"
          value={newPassword}
          onValue={setNew}
          testId="password-new"
        />
        <Field
          password
          label="Repeat the new password"
          required
          autoComplete="new-password"
          value={newPassword2}
          onValue={setNew2}
          testId="password-new2"
        />
        {action.error ? (
          <ErrorAlert
            title={
              action.error instanceof ApiFailure && action.error.code === "WRONG_PASSWORD"
                ? "Wrong current password"
                : accountErrorTitle(action.error)
            }
            error={action.error}
          />
        ) : null}
        {done ? (
          <Text c="teal" size="sm" role="status" data-testid="password-changed">
            Password changed.
          </Text>
        ) : null}
        <Group justify="flex-end">
          <Button type="submit" loading={action.busy} data-testid="password-submit">
            Change password
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

export function Account({ onUnlocked }: { onUnlocked(): void }) {
  const { status, setStatus } = useAgent();
  const [mode, setMode] = useState<Mode>("register");
  const logout = useAction();
  if (!status) return null;

  if (status.lock === "setup") {
    return (
      <Stack maw={560} gap="md">
        <PageTitle>Welcome to PerpetuaNet</PageTitle>
        <Text size="sm" c="dimmed">
          Create an account on your server, or log in to add this PC to an account you already have.
        </Text>
        <SegmentedControl
          value={mode}
          onChange={(v) => setMode(v as Mode)}
          data={[
            { value: "register", label: "Create an account" },
            { value: "login", label: "Log in" },
          ]}
          data-testid="account-mode"
        />
        <Paper withBorder p="md">
          <SignInForm key={mode} mode={mode} onDone={onUnlocked} />
        </Paper>
      </Stack>
    );
  }

  if (status.lock === "locked") {
    return (
      <Stack maw={560} gap="md">
        <PageTitle>Unlock PerpetuaNet</PageTitle>
        <Text size="sm" c="dimmed">
          Your library on this PC is encrypted. Enter your password to open it; this works without the server too.
        </Text>
        <Paper withBorder p="md">
          <SignInForm mode="unlock" onDone={onUnlocked} />
        </Paper>
      </Stack>
    );
  }

  return (
    <Stack maw={640} gap="md">
      <PageTitle
        right={
          <Button
            variant="default"
            loading={logout.busy}
            data-testid="account-logout"
            onClick={async () => {
              if (status.login) sessionStorage.setItem(LAST_LOGIN_KEY, status.login);
              const s = await logout.run(() => api.logout());
              if (s) setStatus(s);
            }}
          >
            Log out
          </Button>
        }
      >
        Account
      </PageTitle>
      <ErrorAlert error={logout.error} />
      <Paper withBorder p="md">
        <Table variant="vertical" layout="fixed" withRowBorders={false}>
          <Table.Tbody>
            <Table.Tr>
              <Table.Th w={140}>Login</Table.Th>
              <Table.Td data-testid="account-current-login">{status.login}</Table.Td>
            </Table.Tr>
            <Table.Tr>
              <Table.Th>Server</Table.Th>
              <Table.Td className="pn-break">{status.serverUrl ?? "none"}</Table.Td>
            </Table.Tr>
            <Table.Tr>
              <Table.Th>This PC</Table.Th>
              <Table.Td className="pn-break">
                {status.device ? `${status.device.name} (${status.device.id})` : "not registered"}
              </Table.Td>
            </Table.Tr>
            <Table.Tr>
              <Table.Th>Version</Table.Th>
              <Table.Td>{status.version}</Table.Td>
            </Table.Tr>
          </Table.Tbody>
        </Table>
      </Paper>
      <Paper withBorder p="md">
        <ChangePassword />
      </Paper>
    </Stack>
  );
}
