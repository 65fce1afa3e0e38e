/** Settings: torrents (folder, connections, limits, seeding, DHT, trackers), server, window. */

import { Button, Group, NumberInput, Paper, Select, SimpleGrid, Stack, Switch, Text, Title } from "@mantine/core";
import type { SettingsView } from "@perpetuanet/core";
import { type FormEvent, type ReactNode, useEffect, useRef, useState } from "react";
import { api } from "../api.ts";
import { ErrorAlert, Field, PageTitle, useAction } from "../components.tsx";
import { inputToRate, type RateUnit, rateToInput } from "../format.ts";
import { useLoad } from "../state.tsx";

interface Form {
  downloadFolder: string;
  maxConnections: number;
  downloadLimit: { value: number; unit: RateUnit };
  uploadLimit: { value: number; unit: RateUnit };
  seeding: boolean;
  dht: boolean;
  trackers: boolean;
  serverUrl: string;
  tlsFingerprint: string;
  startMinimised: boolean;
}

type BoolField = "seeding" | "dht" | "trackers" | "startMinimised";

export function toForm(s: SettingsView): Form {
  return {
    downloadFolder: s.downloadFolder,
    maxConnections: s.maxConnections,
    downloadLimit: rateToInput(s.downloadLimit),
    uploadLimit: rateToInput(s.uploadLimit),
    seeding: s.seeding,
    dht: s.dht,
    trackers: s.trackers,
    serverUrl: s.serverUrl ?? "",
    tlsFingerprint: s.tlsFingerprint ?? "",
    startMinimised: s.startMinimised,
  };
}

/** Only the fields that differ from what the agent has. */
export function changedSettings(saved: SettingsView, f: Form): Partial<SettingsView> {
  const next: SettingsView = {
    downloadFolder: f.downloadFolder.trim(),
    maxConnections: Math.max(1, Math.round(f.maxConnections)),
    downloadLimit: inputToRate(f.downloadLimit.value, f.downloadLimit.unit),
    uploadLimit: inputToRate(f.uploadLimit.value, f.uploadLimit.unit),
    seeding: f.seeding,
    dht: f.dht,
    trackers: f.trackers,
    serverUrl: f.serverUrl.trim() || null,
    tlsFingerprint: f.tlsFingerprint.trim() || null,
    startMinimised: f.startMinimised,
  };
  const out: Partial<SettingsView> = {};
  for (const k of Object.keys(next) as Array<keyof SettingsView>) {
    if (next[k] !== saved[k]) (out as Record<string, unknown>)[k] = next[k];
  }
  return out;
}

function RateInput({
  label,
  value,
  onChange,
  testId,
}: {
  label: string;
  value: { value: number; unit: RateUnit };
  onChange(v: { value: number; unit: RateUnit }): void;
  testId: string;
}) {
  return (
    <Group gap={6} align="flex-end" wrap="nowrap">
      <NumberInput
        label={label}
        description="0 = unlimited"
        min={0}
        decimalScale={2}
        value={value.value}
        onChange={(v) => onChange({ ...value, value: typeof v === "number" ? v : Number(v) || 0 })}
        style={{ flex: 1 }}
        data-testid={testId}
      />
      <Select
        aria-label={`${label} unit`}
        data={["KiB/s", "MiB/s"]}
        value={value.unit}
        allowDeselect={false}
        onChange={(u) => u && onChange({ ...value, unit: u as RateUnit })}
        w={96}
        data-testid={`${testId}-unit`}
      />
    </Group>
  );
}

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <Paper withBorder p="md">
      <Title order={3} size="h5" mb="sm">
        {title}
      </Title>
      <Stack gap="sm">{children}</Stack>
    </Paper>
  );
}

export function Settings() {
  const loaded = useLoad(() => api.settings(), ["settings"]);
  const [saved, setSaved] = useState<SettingsView | null>(null);
  const [form, setForm] = useState<Form | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const save = useAction();

  // Settings changed elsewhere (another PC, the agent) replace the form unless the user is editing it.
  const formRef = useRef(form);
  formRef.current = form;
  const savedRef = useRef(saved);
  savedRef.current = saved;
  useEffect(() => {
    if (!loaded.data) return;
    const editing =
      formRef.current && savedRef.current && Object.keys(changedSettings(savedRef.current, formRef.current)).length > 0;
    if (editing) return;
    setSaved(loaded.data);
    setForm(toForm(loaded.data));
  }, [loaded.data]);

  if (!form || !saved) return loaded.error ? <ErrorAlert error={loaded.error} /> : null;
  const set = <K extends keyof Form>(k: K, v: Form[K]) => {
    setMessage(null);
    setForm({ ...form, [k]: v });
  };
  const toggle = (field: BoolField, label: string, testId: string) => (
    <Switch
      label={label}
      checked={form[field]}
      onChange={(e) => set(field, e.currentTarget.checked)}
      data-testid={testId}
    />
  );
  const changes = changedSettings(saved, form);
  const dirty = Object.keys(changes).length > 0;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const s = await save.run(() => api.saveSettings(changes));
    if (s) {
      setSaved(s);
      setForm(toForm(s));
      setMessage("Settings saved.");
    }
  };

  return (
    <form onSubmit={submit} data-testid="settings-form" style={{ maxWidth: 760 }}>
      <PageTitle
        right={
          <Button type="submit" disabled={!dirty} loading={save.busy} data-testid="settings-save">
            Save
          </Button>
        }
      >
        Settings
      </PageTitle>
      <Stack gap="md">
        <ErrorAlert error={save.error} title="The settings were not saved" />
        {message ? (
          <Text c="teal" size="sm" role="status" data-testid="settings-saved">
            {message}
          </Text>
        ) : null}
        <Section title="Downloads">
          <Field
            label="Download folder"
            value={form.downloadFolder}
            onValue={(v) => set("downloadFolder", v)}
            required
            testId="settings-folder"
          />
          <SimpleGrid cols={{ base: 1, sm: 3 }} spacing="sm">
            <NumberInput
              label="Max connections"
              description="Per torrent"
              min={1}
              max={1000}
              allowDecimal={false}
              value={form.maxConnections}
              onChange={(v) => set("maxConnections", typeof v === "number" ? v : Number(v) || 1)}
              data-testid="settings-connections"
            />
            <RateInput
              label="Download limit"
              value={form.downloadLimit}
              onChange={(v) => set("downloadLimit", v)}
              testId="settings-download-limit"
            />
            <RateInput
              label="Upload limit"
              value={form.uploadLimit}
              onChange={(v) => set("uploadLimit", v)}
              testId="settings-upload-limit"
            />
          </SimpleGrid>
          {toggle("seeding", "Keep seeding completed downloads", "settings-seeding")}
          {toggle("dht", "Find peers with the DHT", "settings-dht")}
          {toggle("trackers", "Find peers with trackers", "settings-trackers")}
        </Section>
        <Section title="Server">
          <Field
            label="Server URL"
            placeholder="https://perpetuanet.example.org"
            value={form.serverUrl}
            onValue={(v) => set("serverUrl", v)}
            testId="settings-server-url"
          />
          <Field
            label="Server certificate fingerprint"
            description="SHA-256 of a self-signed certificate to pin; empty for a certificate from a public authority"
            value={form.tlsFingerprint}
            onValue={(v) => set("tlsFingerprint", v)}
            testId="settings-tls"
          />
        </Section>
        <Section title="Window">
          {toggle("startMinimised", "Start minimised (in the tray, desktop app only)", "settings-start-minimised")}
        </Section>
      </Stack>
    </form>
  );
}
